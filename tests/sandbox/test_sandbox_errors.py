"""Every error status in Mixpeek's envelope, the fault switches, and the request log."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx2
import pytest
from sandbox_dataset import PRIMARY_KEY, SECOND_KEY, auth

from mixpeek_tasks_mcp.sandbox import RunningSandbox


def assert_envelope(response: httpx2.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["status"] == status
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def test_missing_and_wrong_key_are_401(static_sandbox: RunningSandbox) -> None:
    with httpx2.Client(base_url=static_sandbox.base_url, trust_env=False) as anonymous:
        assert_envelope(anonymous.post("/v1/tasks/list", json={}), 401, "UnauthorizedError")
        assert_envelope(anonymous.get("/v1/tasks/task_001", headers=auth("sk_wrong")), 401, "UnauthorizedError")
        assert_envelope(
            anonymous.delete("/v1/tasks/task_001", headers={"Authorization": "Basic abc"}), 401, "UnauthorizedError"
        )
        assert anonymous.get("/v1/tasks/task_001", headers=auth(SECOND_KEY)).status_code == 200


def test_unknown_task_and_route_are_404(client: httpx2.Client) -> None:
    body = assert_envelope(client.get("/v1/tasks/does-not-exist"), 404, "NotFoundError")
    assert body["error"]["message"] == "Task not found"
    assert_envelope(client.get("/v1/nothing/here"), 404, "NotFoundError")
    assert_envelope(client.get("/elsewhere"), 404, "NotFoundError")
    assert_envelope(client.get("/v1/tasks/list"), 405, "MethodNotAllowedError")


def test_bad_enum_is_422(client: httpx2.Client) -> None:
    body = assert_envelope(client.post("/v1/tasks/list", json={"status": "DONE"}), 422, "ValidationError")
    item = body["error"]["details"]["validation_errors"][0]
    assert item["location"] == ["body", "status"] and item["type"] == "enum"


def test_undeclared_body_keys_are_extra_forbidden(client: httpx2.Client) -> None:
    response = client.post("/v1/tasks/list", json={"status": "FAILED", "limit": 5, "namespace_id": "ns_1"})
    body = assert_envelope(response, 422, "ValidationError")
    assert body["error"]["code"] == "extra_forbidden"
    for accepted in ("status", "task_type", "filters", "sort", "search"):
        assert accepted in body["error"]["message"]
    types = {item["type"] for item in body["error"]["details"]["validation_errors"]}
    assert types == {"extra_forbidden"}


def test_filters_deeper_than_five_levels_are_422(client: httpx2.Client) -> None:
    leaf: dict[str, Any] = {"AND": [{"field": "status", "operator": "eq", "value": "FAILED"}]}
    for _ in range(5):
        leaf = {"AND": [leaf]}
    assert_envelope(client.post("/v1/tasks/list", json={"filters": leaf}), 422, "ValidationError")
    shallow: dict[str, Any] = {"AND": [{"field": "status", "operator": "eq", "value": "FAILED"}]}
    for _ in range(4):
        shallow = {"AND": [shallow]}
    assert client.post("/v1/tasks/list", json={"filters": shallow}).status_code == 200


def test_non_json_body_is_422(client: httpx2.Client) -> None:
    response = client.post("/v1/tasks/list", content=b"{not json", headers={"Content-Type": "application/json"})
    body = assert_envelope(response, 422, "ValidationError")
    assert body["error"]["code"] == "json_invalid"
    assert client.post("/v1/tasks/list", content=b"").status_code == 200, "no body lists everything"
    assert_envelope(client.post("/v1/tasks/list", json=[1, 2]), 422, "ValidationError")


def test_rate_limit_fault_429_with_retry_after(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.set_faults(rate_limit={"after": 2, "retry_after": 1})
    assert fresh_client.post("/v1/tasks/list", json={}).status_code == 200
    ok = fresh_client.post("/v1/tasks/list", json={})
    assert ok.headers["X-RateLimit-Remaining"] == "0"
    limited = fresh_client.post("/v1/tasks/list", json={})
    assert_envelope(limited, 429, "TooManyRequestsError")
    assert limited.headers["Retry-After"] == "1"
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in limited.headers
    deadline = time.monotonic() + 10
    while fresh_client.post("/v1/tasks/list", json={}).status_code == 429:
        assert time.monotonic() < deadline, "rate limit never lifted"
        time.sleep(0.3)
    sandbox.clear_faults()
    assert fresh_client.post("/v1/tasks/list", json={}).status_code == 200


def test_forced_status_per_route(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_task(task_id="t1", status="COMPLETED")
    sandbox.set_faults(force_status={"status": 503, "count": 2, "route": "get_task", "retry_after": 2})
    assert fresh_client.post("/v1/tasks/list", json={}).status_code == 200
    first = fresh_client.get("/v1/tasks/t1")
    assert_envelope(first, 503, "ServiceUnavailableError")
    assert first.headers["Retry-After"] == "2"
    assert fresh_client.get("/v1/tasks/t1").status_code == 503
    assert fresh_client.get("/v1/tasks/t1").status_code == 200
    sandbox.set_faults(force_status=[{"status": 500}, {"status": 502}])
    assert_envelope(fresh_client.get("/v1/tasks/t1"), 500, "InternalServerError")
    assert_envelope(fresh_client.delete("/v1/tasks/t1"), 502, "BadGatewayError")
    sandbox.set_faults(force_status={"status": 504, "count": None})
    assert [fresh_client.get("/v1/tasks/t1").status_code for _ in range(3)] == [504, 504, 504]
    sandbox.clear_faults()
    assert fresh_client.get("/v1/tasks/t1").status_code == 200


@pytest.mark.parametrize("kind", ["non_json", "truncated_json", "wrong_shape", "empty", "html"])
def test_malformed_bodies(sandbox: RunningSandbox, fresh_client: httpx2.Client, kind: str) -> None:
    sandbox.create_task(task_id="t1", status="COMPLETED")
    sandbox.set_faults(malformed={"kind": kind, "route": "list_tasks"})
    broken = fresh_client.post("/v1/tasks/list", json={})
    assert broken.status_code == 200
    if kind == "wrong_shape":
        assert not isinstance(broken.json().get("results"), list)
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.content)
    assert fresh_client.post("/v1/tasks/list", json={}).json()["results"][0]["task_id"] == "t1"


def test_latency_fault(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.set_faults(latency={"ms": 300, "count": 1})
    started = time.monotonic()
    assert fresh_client.post("/v1/tasks/list", json={}).status_code == 200
    assert time.monotonic() - started >= 0.29
    assert sandbox.requests()[-1]["duration_ms"] >= 290


def test_fault_spec_is_validated(sandbox: RunningSandbox) -> None:
    with httpx2.Client(base_url=sandbox.base_url, trust_env=False) as http:
        response = http.post("/_sandbox/faults", json={"force_status": {"status": 200}})
        assert_envelope(response, 422, "ValidationError")
        response = http.post("/_sandbox/faults", json={"explode": True})
        assert response.json()["error"]["code"] == "extra_forbidden"


def test_request_log_fingerprints_keys(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.clear_requests()
    fresh_client.post("/v1/tasks/list", params={"limit": 5}, json={"status": "FAILED"}, headers={"X-Namespace": "ns_x"})
    fresh_client.get("/v1/tasks/abc", headers=auth(SECOND_KEY))
    fresh_client.get("/v1/tasks/abc", headers={"Authorization": ""})
    entries = sandbox.requests()
    assert [e["method"] for e in entries] == ["POST", "GET", "GET"]
    first, second, third = entries
    assert first["path"] == "/v1/tasks/list" and first["query"] == "limit=5"
    assert first["body"] == {"status": "FAILED"} and first["namespace"] == "ns_x"
    assert first["key_fingerprint"] == hashlib.sha256(PRIMARY_KEY.encode()).hexdigest()[:12]
    assert second["key_fingerprint"] == hashlib.sha256(SECOND_KEY.encode()).hexdigest()[:12]
    assert second["status"] == 404 and third["status"] == 401 and third["key_fingerprint"] is None
    dumped = json.dumps(entries)
    assert PRIMARY_KEY not in dumped and SECOND_KEY not in dumped
    sandbox.clear_requests()
    assert sandbox.requests() == []


def test_refusing_filters_on_a_field_is_a_422_only_for_that_field(
    sandbox: RunningSandbox, fresh_client: httpx2.Client
) -> None:
    """The fault behind the shared poller's GET fallback: an API that will not filter the list on task_id."""
    task = sandbox.create_task(task_type="thumbnail", status="IN_PROGRESS")
    sandbox.set_faults(refuse_filter_fields=["task_id"])
    by_id = {"filters": {"AND": [{"field": "task_id", "operator": "in", "value": [task["task_id"]]}]}}
    refused = fresh_client.post("/v1/tasks/list", json=by_id)
    assert refused.status_code == 422
    assert refused.json()["success"] is False and "task_id" in refused.json()["error"]["message"]
    shorthand = fresh_client.post("/v1/tasks/list", json={"filters": {"task_id": task["task_id"]}})
    assert shorthand.status_code == 422
    by_status = {"filters": {"AND": [{"field": "status", "operator": "eq", "value": "IN_PROGRESS"}]}}
    assert fresh_client.post("/v1/tasks/list", json=by_status).status_code == 200
    sandbox.clear_faults()
    assert fresh_client.post("/v1/tasks/list", json=by_id).json()["results"][0]["task_id"] == task["task_id"]
