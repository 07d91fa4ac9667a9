"""wait_for_task on many tasks and on a selection, served by the shared poller: outcomes, sharing, fallback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.tools import AppState

from .conftest import api_requests, text_of

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[Client, AppState]]:
    """A session whose AppState the test can look into (the poller's tables, the budget)."""
    state = AppState(settings=settings, client=TasksClient(settings))
    try:
        async with Client(build_server(settings, state=state)) as client:
            yield client, state
    finally:
        await state.client.aclose()


def scripted(sandbox: RunningSandbox, finish_after: float, final: str = "COMPLETED", **data: Any) -> str:
    script = [{"after_seconds": 0.1, "status": "IN_PROGRESS"}]
    if finish_after:
        change: dict[str, Any] = {"after_seconds": finish_after, "status": final}
        if final == "FAILED":
            change["error"] = "Extractor crashed on obj_1"
        script.append(change)
    task = sandbox.create_task(
        task_type="api_buckets_batches_process",
        status="PENDING",
        additional_data={"batch_id": "btch_m", **data},
        script=script,
    )
    return str(task["task_id"])


def polls_of(sandbox: RunningSandbox) -> int:
    return len(api_requests(sandbox))


async def test_until_all_reports_every_task_with_a_failure_among_them(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    ids = [scripted(sandbox, 1.0), scripted(sandbox, 2.0), scripted(sandbox, 1.5, "FAILED")]
    messages: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with served(settings) as (client, state):
        result = await client.call_tool(
            "wait_for_task", {"task_ids": ids, "timeout_seconds": 20}, progress_callback=on_progress
        )
        assert state.poller.entry_count == 0, "a finished wait leaves nothing in the poller"
    text = text_of(result)
    assert not result.is_error, text
    structured = result.structured_content
    assert structured is not None
    assert structured["outcome"] == "all_finished" and structured["finished"] is True
    assert structured["counts"] == {"success": 2, "failure": 1} or structured["counts"] == {"failure": 1, "success": 2}
    assert [line["task_id"] for line in structured["tasks"]] == ids
    assert structured["still_running"] == [] and "next_call" not in structured
    assert 'error: "Extractor crashed on obj_1"' in text
    assert any("of 3 finished · 1 failed" in message for message in messages)
    batched = [entry for entry in api_requests(sandbox) if entry["method"] == "POST"]
    assert batched, "tasks of one key are checked together with task_id in [...]"
    assert batched[0]["body"]["filters"]["AND"][0] == {"field": "task_id", "operator": "in", "value": ids}


async def test_until_any_returns_at_the_first_finished(sandbox: RunningSandbox, settings: Settings) -> None:
    ids = [scripted(sandbox, 0), scripted(sandbox, 1.0, "FAILED"), scripted(sandbox, 0)]
    async with served(settings) as (client, _state):
        result = await client.call_tool("wait_for_task", {"task_ids": ids, "until": "any", "timeout_seconds": 20})
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "any_finished"
    assert structured["counts"]["failure"] == 1 and structured["counts"]["running"] == 2
    running = [ids[0], ids[2]]
    assert structured["next_call"] == {"task_ids": running, "until": "any", "timeout_seconds": 20}
    assert f"call wait_for_task {json.dumps(structured['next_call'])}" in text_of(result)


async def test_budget_running_out_gives_the_call_for_the_unfinished(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    done, slow = scripted(sandbox, 0.5), scripted(sandbox, 0)
    async with served(settings) as (client, state):
        result = await client.call_tool("wait_for_task", {"task_ids": [done, slow], "timeout_seconds": 2})
        assert state.poller.entry_count == 0
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "timed_out" and structured["still_running"] == [slow]
    assert structured["next_call"] == {"task_ids": [slow], "until": "all", "timeout_seconds": 2}
    assert structured["waited_seconds"] >= 2
    assert "To keep waiting on the unfinished ones, call wait_for_task" in text_of(result)


async def test_none_active_follows_a_selection_until_nothing_matching_runs(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    batch = {"batch_id": "btch_sel"}
    for after in (0.5, 1.0, 1.5):
        sandbox.create_task(
            task_type="api_buckets_batches_process",
            status="IN_PROGRESS",
            additional_data=batch,
            script=[{"after_seconds": after, "status": "COMPLETED"}],
        )
    arguments = {"filters": {"additional_data.batch_id": "btch_sel"}, "timeout_seconds": 20}
    async with served(settings) as (client, _state):
        result = await client.call_tool("wait_for_task", arguments)
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "none_active" and structured["until"] == "none_active"
    assert structured["counts"] == {"success": 3}


async def test_arguments_for_many_are_checked(settings: Settings) -> None:
    async with served(settings) as (client, _):
        both = await client.call_tool("wait_for_task", {"task_id": "a", "task_ids": ["b"]})
        too_many = await client.call_tool("wait_for_task", {"task_ids": [f"t{i}" for i in range(51)]})
        wrong_until = await client.call_tool("wait_for_task", {"task_ids": ["a"], "until": "none_active"})
    assert both.is_error and "give one of task_id, task_ids or a selection" in text_of(both)
    assert too_many.is_error and "at most 50" in text_of(too_many)
    assert wrong_until.is_error and "Accepted: all, any" in text_of(wrong_until)


async def test_twenty_waits_on_one_task_cost_the_polls_of_one(sandbox: RunningSandbox, settings: Settings) -> None:
    alone = scripted(sandbox, 3.0)
    async with served(settings) as (client, _):
        await client.call_tool("wait_for_task", {"task_id": alone, "timeout_seconds": 20})
    one_wait = polls_of(sandbox)
    sandbox.clear_requests()
    shared = scripted(sandbox, 3.0)
    results: list[Any] = []
    async with served(settings) as (client, state):

        async def wait() -> None:
            results.append(await client.call_tool("wait_for_task", {"task_id": shared, "timeout_seconds": 20}))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(wait)
        assert state.poller.entry_count == 0
    assert all(r.structured_content and r.structured_content["outcome"] == "success" for r in results)
    assert polls_of(sandbox) <= one_wait + 1, (polls_of(sandbox), one_wait)


async def test_cancelling_a_many_task_wait_stops_its_polls(sandbox: RunningSandbox, settings: Settings) -> None:
    ids = [scripted(sandbox, 0), scripted(sandbox, 0)]
    polled = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        polled.set()

    async with served(settings) as (client, state):
        async with anyio.create_task_group() as group:

            async def call() -> None:
                arguments = {"task_ids": ids, "timeout_seconds": 60}
                await client.call_tool("wait_for_task", arguments, progress_callback=on_progress)

            group.start_soon(call)
            with anyio.fail_after(10):
                await polled.wait()
            group.cancel_scope.cancel()
        await anyio.sleep(0.2)
        assert state.poller.entry_count == 0, "a cancelled wait leaves nothing behind"
        after = polls_of(sandbox)
        await anyio.sleep(3)
        assert polls_of(sandbox) == after


async def test_falls_back_to_gets_once_when_list_refuses_task_id(sandbox: RunningSandbox, settings: Settings) -> None:
    sandbox.set_faults(refuse_filter_fields=["task_id"])
    ids = [scripted(sandbox, 1.0), scripted(sandbox, 2.0)]
    async with served(settings) as (client, _state):
        result = await client.call_tool("wait_for_task", {"task_ids": ids, "timeout_seconds": 20})
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "all_finished"
    posts = [entry for entry in api_requests(sandbox) if entry["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["status"] == 422, "refused once, then remembered"
    assert sum(1 for entry in api_requests(sandbox) if entry["method"] == "GET") >= 3


async def test_the_request_budget_holds_under_load(sandbox: RunningSandbox, settings: Settings) -> None:
    limited = settings.model_copy(update={"max_requests_per_minute": 60.0, "request_burst": 3})
    ids = [scripted(sandbox, 0) for _ in range(3)]
    async with served(limited) as (client, state), anyio.create_task_group() as group:
        for task_id in ids:
            group.start_soon(client.call_tool, "wait_for_task", {"task_id": task_id, "timeout_seconds": 3})
        group.start_soon(client.call_tool, "list_tasks", {"limit": 5})
    made = polls_of(sandbox)
    # 3 back to back, then one a second over ~3-5 s (the waits' last checks may wait past their deadline)
    assert made <= 3 + 6, made
    assert state.client.budgets.granted == made
