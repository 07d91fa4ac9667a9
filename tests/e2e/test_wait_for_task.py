"""wait_for_task end to end against live sandbox tasks: completion, budgets, progress, cancellation."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio


def batch_task(sandbox: RunningSandbox, script: list[dict[str, Any]]) -> str:
    task = sandbox.create_task(
        task_type="api_buckets_batches_process",
        status="PENDING",
        additional_data={"batch_id": "btch_w", "bucket_id": "bkt_w", "object_count": 40, "total_tiers": 2},
        script=script,
    )
    return str(task["task_id"])


def task_polls(sandbox: RunningSandbox, task_id: str) -> int:
    return sum(1 for entry in api_requests(sandbox) if entry["method"] == "GET" and entry["path"].endswith(task_id))


async def test_waits_until_completion_with_progress_notifications(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id = batch_task(
        sandbox,
        [
            {"after_seconds": 0.3, "status": "IN_PROGRESS", "additional_data": {"current_tier": 0}},
            {"after_seconds": 1.2, "status": "IN_PROGRESS", "additional_data": {"current_tier": 1}},
            {"after_seconds": 2.5, "status": "COMPLETED"},
        ],
    )
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with session(settings) as client:
        result = await client.call_tool(
            "wait_for_task", {"task_id": task_id, "timeout_seconds": 30}, progress_callback=on_progress
        )
    text = text_of(result)
    assert not result.is_error, text
    structured = result.structured_content
    assert structured is not None
    assert structured["outcome"] == "success" and structured["finished"] is True
    assert structured["task"]["status"] == "COMPLETED"
    assert "finished successfully" in text and "next_call" not in structured
    assert structured["polls"] == task_polls(sandbox, task_id) == len(progress) >= 2
    assert [value for value, _, _ in progress] == sorted(value for value, _, _ in progress)
    assert all(total == 30 for _, total, _ in progress)
    assert any(message and "IN_PROGRESS · tier" in message for _, _, message in progress)


async def test_running_out_of_budget_returns_the_status_and_the_call_to_continue(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    task_id = batch_task(
        sandbox, [{"after_seconds": 0.1, "status": "IN_PROGRESS", "additional_data": {"current_tier": 0}}]
    )
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 2})
    text = text_of(result)
    assert not result.is_error, text
    structured = result.structured_content
    assert structured is not None
    assert structured["outcome"] == "timed_out" and structured["finished"] is False
    assert structured["next_call"] == {"task_id": task_id, "timeout_seconds": 2}
    assert structured["waited_seconds"] >= 2
    assert structured["polls"] == task_polls(sandbox, task_id) >= 2
    assert "is still running" in text and "To keep waiting, call wait_for_task" in text


async def test_zero_budget_is_a_single_check(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id = batch_task(sandbox, [])
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 0})
    assert result.structured_content is not None
    assert result.structured_content["polls"] == 1 == task_polls(sandbox, task_id)


async def test_a_failed_task_reports_its_error(sandbox: RunningSandbox, settings: Settings) -> None:
    task = sandbox.create_task(task_type="engine_feature_extractor_run", status="IN_PROGRESS")
    sandbox.transition(task["task_id"], "FAILED", error="Feature extractor timed out after 900s")
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task["task_id"]})
    text = text_of(result)
    assert not result.is_error, text
    assert result.structured_content is not None
    assert result.structured_content["outcome"] == "failure"
    assert 'error: "Feature extractor timed out after 900s"' in text


async def test_waiting_for_a_start_stops_at_in_progress(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id = batch_task(
        sandbox, [{"after_seconds": 0.5, "status": "IN_PROGRESS"}, {"after_seconds": 60, "status": "COMPLETED"}]
    )
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task_id, "wait_for": ["in_progress"]})
    assert result.structured_content is not None
    assert result.structured_content["outcome"] == "reached"
    assert result.structured_content["task"]["status"] == "IN_PROGRESS"


async def test_a_draft_is_reported_as_stalled_at_once(sandbox: RunningSandbox, settings: Settings) -> None:
    task = sandbox.create_task(task_type="api_buckets_batches_submit", status="DRAFT")
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 30})
    assert result.structured_content is not None
    assert (result.structured_content["outcome"], result.structured_content["polls"]) == ("stalled", 1)
    assert "has not been submitted" in text_of(result)


async def test_an_unknown_task_is_a_not_found_error(settings: Settings) -> None:
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": "task_does_not_exist"})
    text = text_of(result)
    assert result.is_error
    assert "'task_does_not_exist' was not found (HTTP 404)" in text and "24 hours" in text


async def test_cancelling_the_call_stops_polling(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id = batch_task(sandbox, [{"after_seconds": 0.1, "status": "IN_PROGRESS"}])
    polled = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if value > 1.0:
            polled.set()

    async with session(settings) as client:
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool(
                    "wait_for_task", {"task_id": task_id, "timeout_seconds": 120}, progress_callback=on_progress
                )

            group.start_soon(call)
            with anyio.fail_after(20):
                await polled.wait()
            group.cancel_scope.cancel()
        after_cancel = task_polls(sandbox, task_id)
        await anyio.sleep(4)  # the backoff would have polled again by now had it kept going
        assert task_polls(sandbox, task_id) == after_cancel
        follow_up = await client.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 0})
    assert not follow_up.is_error, "the server keeps serving after a cancelled call"
