"""The sandbox's batch routes over HTTP: shapes, derived and made-to-order batches, cancel/retry/kill that move
the tasks, the undocumented corners (404 batch, 409 refusal, unstructured 200) and a fault on each route."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.sandbox.batch_routes import BATCH_ROUTES

BUCKET = "/v1/buckets/bkt_products/batches"


def running(sandbox: RunningSandbox, batch_id: str, **extra: Any) -> dict[str, Any]:
    return sandbox.create_batch(
        batch_id=batch_id,
        bucket_id="bkt_products",
        tiers=[{"status": "COMPLETED"}, {"status": "IN_PROGRESS"}, {"status": "IN_PROGRESS"}],
        **extra,
    )


def test_a_batch_is_derived_from_the_task_that_carries_its_id(
    sandbox: RunningSandbox, fresh_client: httpx2.Client
) -> None:
    task = sandbox.create_task(
        task_type="api_buckets_batches_process",
        status="FAILED",
        error="Feature extractor timed out",
        additional_data={
            "batch_id": "btch_derived1",
            "bucket_id": "bkt_products",
            "total_tiers": 3,
            "current_tier": 1,
            "object_count": 250,
            "collection_ids": ["col_a", "col_b", "col_c"],
        },
    )
    batch = fresh_client.get("/v1/batches/btch_derived1").json()
    assert batch["status"] == "FAILED" and batch["bucket_id"] == "bkt_products"
    assert [(t["tier_num"], t["status"], t["task_id"]) for t in batch["tier_tasks"]] == [
        (0, "COMPLETED", None),
        (1, "FAILED", task["task_id"]),
        (2, "PENDING", None),
    ]
    assert batch["failed_object_count"] == len(batch["failed_objects"]) > 0
    assert {o["error_type"] for o in batch["failed_objects"]} <= {"transient", "permanent", "resource"}
    assert batch["failure_reason"] == "Feature extractor timed out"
    assert "ray.exceptions.RayTaskError" in batch["tier_tasks"][1]["ray_job_logs"]
    same = fresh_client.get(f"{BUCKET}/btch_derived1").json()
    assert same["tier_tasks"] == batch["tier_tasks"]
    logs = fresh_client.get(f"{BUCKET}/btch_derived1/logs", params={"tier_num": "1"}).json()
    assert [entry["tier_num"] for entry in logs["logs"]] == [1]
    page = fresh_client.get(f"{BUCKET}/btch_derived1/failed-documents", params={"limit": "2", "offset": "1"}).json()
    assert len(page["results"]) == 2 and page["total"] == batch["failed_object_count"] and page["offset"] == 1


def test_unknown_and_misplaced_batches_are_404(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    running(sandbox, "btch_where1")
    unknown = fresh_client.get("/v1/batches/btch_nowhere")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "batch_not_found"
    assert fresh_client.get("/v1/buckets/bkt_other/batches/btch_where1").status_code == 404
    assert fresh_client.get(f"{BUCKET}/btch_where1/tiers/x/cancel").status_code == 404


def test_cancel_moves_the_tasks_and_a_second_cancel_is_a_409(
    sandbox: RunningSandbox, fresh_client: httpx2.Client
) -> None:
    view = running(sandbox, "btch_cancel1")
    answer = fresh_client.post("/v1/batches/btch_cancel1/cancel", params={"reason": "test"}).json()
    assert answer["cancellation"] == {"ray_jobs_requested": 2, "ray_jobs_accepted": 2, "ray_jobs_refused": 0}
    for tier in view["tier_tasks"][1:]:
        assert sandbox.get_task(tier["task_id"])["status"] == "CANCELED"
    assert fresh_client.get("/v1/batches/btch_cancel1").json()["status"] == "CANCELED"
    again = fresh_client.post(f"{BUCKET}/btch_cancel1/cancel")
    assert again.status_code == 409 and again.json()["error"]["type"] == "ConflictError"


def test_a_tier_cancel_leaves_its_siblings_and_refusing_jobs_keep_running(
    sandbox: RunningSandbox, fresh_client: httpx2.Client
) -> None:
    view = running(sandbox, "btch_tier1")
    answer = fresh_client.post(f"{BUCKET}/btch_tier1/tiers/1/cancel").json()
    assert answer["status"] == "CANCELED" and answer["ray_jobs_accepted"] == 1
    assert sandbox.get_task(view["tier_tasks"][2]["task_id"])["status"] == "IN_PROGRESS"
    stubborn = running(sandbox, "btch_tier2", refuse_ray_jobs=1)
    outcome = fresh_client.post("/v1/batches/btch_tier2/cancel").json()["cancellation"]
    assert outcome == {"ray_jobs_requested": 2, "ray_jobs_accepted": 1, "ray_jobs_refused": 1}
    statuses = sorted(sandbox.get_task(t["task_id"])["status"] for t in stubborn["tier_tasks"][1:])
    assert statuses == ["CANCELED", "IN_PROGRESS"]


def test_kill_is_idempotent_and_the_tier_follows(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    view = running(sandbox, "btch_kill1")
    task_id = view["tier_tasks"][1]["task_id"]
    first, second = fresh_client.delete(f"/v1/tasks/{task_id}"), fresh_client.delete(f"/v1/tasks/{task_id}")
    missing = fresh_client.delete("/v1/tasks/task_never_was")
    assert [r.status_code for r in (first, second, missing)] == [200, 200, 200]
    assert all(r.json()["success"] is True for r in (first, second, missing))
    assert fresh_client.get("/v1/batches/btch_kill1").json()["tier_tasks"][1]["status"] == "CANCELED"


def test_retry_starts_a_new_run_of_the_failed_tier(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_batch(
        batch_id="btch_retry1",
        bucket_id="bkt_products",
        failed_tier=1,
        tiers=[{"status": "COMPLETED"}, {"status": "FAILED"}],
        failures={"transient": 3, "permanent": 1},
    )
    assert fresh_client.post(f"{BUCKET}/btch_retry1/retry").status_code == 422, "the body is required"
    bad = fresh_client.post(f"{BUCKET}/btch_retry1/retry", json={"retry_mode": "some"})
    assert (
        bad.status_code == 422
        and bad.json()["error"]["details"]["validation_errors"][0]["location"][-1] == "retry_mode"
    )
    answer = fresh_client.post(f"{BUCKET}/btch_retry1/retry", json={"retry_mode": "transient_only", "extra": 1}).json()
    assert answer["retried_document_count"] == 3 and answer["skipped_document_count"] == 1
    assert answer["warnings"] == ["Unknown key 'extra' ignored"]
    new = sandbox.get_task(answer["task_id"])
    assert new["additional_data"]["current_tier"] == 1 and new["status"] in ("PENDING", "QUEUED", "IN_PROGRESS")
    batch = fresh_client.get("/v1/batches/btch_retry1").json()
    assert batch["status"] in ("PENDING", "IN_PROGRESS") and batch["tier_tasks"][1]["task_id"] == answer["task_id"]
    busy = fresh_client.post(f"{BUCKET}/btch_retry1/retry", json={})
    assert busy.status_code == 409, "a running batch is not retried"


@pytest.mark.parametrize("route", BATCH_ROUTES)
def test_every_batch_route_takes_a_fault(route: str, sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    running(sandbox, "btch_fault1")
    calls = {
        "get_batch": ("GET", "/v1/batches/btch_fault1", None),
        "batch_logs": ("GET", f"{BUCKET}/btch_fault1/logs", None),
        "failed_documents": ("GET", f"{BUCKET}/btch_fault1/failed-documents", None),
        "cancel_batch": ("POST", f"{BUCKET}/btch_fault1/cancel", None),
        "cancel_tier": ("POST", f"{BUCKET}/btch_fault1/tiers/1/cancel", None),
        "retry_batch": ("POST", f"{BUCKET}/btch_fault1/retry", {}),
    }
    method, path, body = calls[route]
    sandbox.set_faults(force_status={"status": 503, "count": 1, "route": route, "retry_after": 1})
    faulted = fresh_client.request(method, path, json=body)
    assert faulted.status_code == 503 and faulted.headers["retry-after"] == "1"
    assert fresh_client.request(method, path, json=body).status_code in (200, 409)


def test_an_unstructured_200_on_a_batch_route(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    running(sandbox, "btch_shape1", quirks=["unstructured_logs"])
    sandbox.set_faults(malformed={"kind": "wrong_shape", "route": "get_batch"})
    odd = fresh_client.get("/v1/batches/btch_shape1")
    assert odd.status_code == 200 and "tier_tasks" not in odd.json()
    logs = fresh_client.get(f"{BUCKET}/btch_shape1/logs")
    assert isinstance(logs.json(), str)
