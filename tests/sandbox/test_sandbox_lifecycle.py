"""Scripted and simulated status changes, kill, forced transitions, odd task ids."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx2
from sandbox_dataset import auth

from mixpeek_tasks_mcp.sandbox import DEMO_API_KEY, RunningSandbox, SandboxConfig, running_sandbox

ORDER = ["PENDING", "QUEUED", "IN_PROGRESS", "COMPLETED"]


def collapse(seen: list[dict[str, Any]]) -> list[str]:
    """The sequence of statuses seen, without consecutive repeats."""
    statuses: list[str] = []
    for task in seen:
        if not statuses or statuses[-1] != task["status"]:
            statuses.append(task["status"])
    return statuses


def poll_until(client: httpx2.Client, task_id: str, statuses: set[str], timeout: float = 15.0) -> list[dict[str, Any]]:
    """GET the task until its status is in ``statuses``; returns every distinct state seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/v1/tasks/{quote(task_id, safe='')}").json()
        if not seen or task != seen[-1]:
            seen.append(task)
        if task["status"] in statuses:
            return seen
        assert time.monotonic() < deadline, f"{task_id} stuck at {task['status']}"
        time.sleep(0.05)


def test_script_moves_a_task_on_a_timeline(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_task(
        task_id="scripted",
        status="PENDING",
        additional_data={"total_tiers": 2, "current_tier": None},
        script=[
            {"after_seconds": 0.2, "status": "QUEUED", "queue_position": 1, "estimated_wait_minutes": 0.5},
            {"after_seconds": 0.4, "status": "IN_PROGRESS", "additional_data": {"current_tier": 1}},
            {"after_seconds": 0.7, "status": "FAILED", "error": "Ray job ray_job_8f2 failed: OOMKilled"},
        ],
    )
    seen = poll_until(fresh_client, "scripted", {"FAILED"})
    final = seen[-1]
    assert final["error"] == "Ray job ray_job_8f2 failed: OOMKilled"
    assert final["additional_data"]["error"] == final["error"]
    assert final["additional_data"]["current_tier"] == 1 and final["additional_data"]["total_tiers"] == 2
    assert final["queue_position"] is None
    statuses = collapse(seen)
    assert statuses == sorted(set(statuses), key=["PENDING", "QUEUED", "IN_PROGRESS", "FAILED"].index)


def test_generic_lifecycle(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_task(
        task_id="batch-1",
        additional_data={"total_tiers": 3, "current_tier": None, "object_count": 10},
        duration_seconds=1.0,
        final_status="COMPLETED",
    )
    seen = poll_until(fresh_client, "batch-1", {"COMPLETED"})
    statuses = collapse(seen)
    assert statuses == sorted(set(statuses), key=ORDER.index)
    assert seen[-1]["additional_data"]["current_tier"] == 2


def test_simulator_keeps_live_tasks_moving() -> None:
    config = SandboxConfig(port=0, tasks=0, simulate=True, speed=40, live_tasks=3, seed=3)
    with (
        running_sandbox(config) as sandbox,
        httpx2.Client(base_url=sandbox.base_url, headers=auth(DEMO_API_KEY), trust_env=False) as http,
    ):
        deadline = time.monotonic() + 20
        finished: list[dict[str, Any]] = []
        while not finished:
            tasks = http.post("/v1/tasks/list", params={"limit": 100}, json={}).json()["results"]
            finished = [t for t in tasks if t["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED")]
            assert time.monotonic() < deadline, "no simulated task finished"
            time.sleep(0.1)
        assert len(tasks) >= 3
        assert http.get("/_sandbox/health").json()["simulate"] is True


def test_kill_active_task_and_idempotency(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_task(task_id="running", status="IN_PROGRESS", script=[{"after_seconds": 0.3, "status": "COMPLETED"}])
    sandbox.create_task(task_id="done", status="COMPLETED")
    killed = fresh_client.delete("/v1/tasks/running")
    assert killed.status_code == 200 and killed.json()["success"] is True
    assert fresh_client.get("/v1/tasks/running").json()["status"] == "CANCELED"
    time.sleep(0.5)
    assert fresh_client.get("/v1/tasks/running").json()["status"] == "CANCELED", "the script was dropped"
    again = fresh_client.delete("/v1/tasks/running")
    assert again.status_code == 200 and again.json()["success"] is True
    unknown = fresh_client.delete("/v1/tasks/never-existed")
    assert unknown.status_code == 200 and unknown.json()["success"] is True
    assert fresh_client.delete("/v1/tasks/done").json()["success"] is True
    assert fresh_client.get("/v1/tasks/done").json()["status"] == "COMPLETED"


def test_forced_transition(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    sandbox.create_task(task_id="t", status="IN_PROGRESS")
    updated = sandbox.transition("t", "FAILED", error="S3 access denied for s3://bucket/key")
    assert updated["status"] == "FAILED" and "created_at" in updated
    task = fresh_client.get("/v1/tasks/t").json()
    assert task["error"] == "S3 access denied for s3://bucket/key"
    assert task["additional_data"]["error"] == task["error"]
    assert task["created_at"] == updated["created_at"] and task["updated_at"] == updated["updated_at"]


def test_percent_encoded_task_ids(sandbox: RunningSandbox, fresh_client: httpx2.Client) -> None:
    odd = "tsk/with space?&#"
    sandbox.create_task(task_id=odd, status="COMPLETED")
    assert fresh_client.get(f"/v1/tasks/{quote(odd, safe='')}").json()["task_id"] == odd
    assert sandbox.get_task(odd)["task_id"] == odd


def test_generated_tasks_are_deterministic_and_realistic() -> None:
    config = SandboxConfig(port=0, tasks=300, simulate=False, seed=11)
    with running_sandbox(config) as first, running_sandbox(config) as second:
        clients = [
            httpx2.Client(base_url=s.base_url, headers=auth(DEMO_API_KEY), trust_env=False) for s in (first, second)
        ]
        body = {"sort": {"field": "task_id"}}
        pages = [c.post("/v1/tasks/list", params={"limit": 300}, json=body).json()["results"] for c in clients]
        for c in clients:
            c.close()
    assert [t["task_id"] for t in pages[0]] == [t["task_id"] for t in pages[1]]
    tasks = pages[0]
    assert len({t["task_type"] for t in tasks}) >= 20
    assert sum(t["status"] == "COMPLETED" for t in tasks) > len(tasks) / 2
    failed = [t for t in tasks if t["status"] == "FAILED"]
    assert failed and all(t["error"] and t["additional_data"]["error"] == t["error"] for t in failed)
    batches = [t for t in tasks if t["task_type"] == "api_buckets_batches_process"]
    for key in ("batch_id", "bucket_id", "namespace_id", "collection_ids", "total_tiers", "object_count"):
        assert all(key in t["additional_data"] for t in batches)
