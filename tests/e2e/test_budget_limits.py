"""The per-key request budget end to end: MCP sessions against a sandbox that advertises and enforces limits.

Default settings throughout: the server starts conservatively and learns each key's limit from the sandbox's
X-RateLimit-* headers, as it does from Mixpeek's. No timing assertions: requests, 429s, errors and coverage
are counted; where a wait matters, it is the budget's own record of it (the answer's line, the budget's
counters).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from mixpeek_tasks_mcp.budget import Priority
from mixpeek_tasks_mcp.client import Credentials, TasksClient
from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.tools import AppState

from .conftest import SECRET_KEY, api_requests, text_of

pytestmark = pytest.mark.anyio

FAILED_TASKS = 1_500
OTHER_PROBLEMS = 1_500
"""COMPLETED_WITH_ERRORS: with the failures, a 3,000-task triage (the default selection)."""


def _problem(index: int, status: str, start: datetime) -> dict[str, Any]:
    return {
        "task_type": "api_buckets_objects_create",
        "status": status,
        "created_at": (start + timedelta(seconds=index)).isoformat(),
        "error": f"Object obj_{index:06x} exceeds the 2 GiB size limit ({2049 + index % 500} MiB)",
        "additional_data": {"bucket_id": f"bkt_{index % 7}"},
    }


@pytest.fixture(scope="module")
def busy_sandbox() -> Iterator[RunningSandbox]:
    """1,500 failures and 1,500 partial successes; advertises 600 requests/min per key unless a test says."""
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=0, simulate=False, rate_limit_rpm=600)
    with running_sandbox(config) as running:
        start = datetime.now(UTC) - timedelta(days=1)
        running.create_tasks([_problem(i, "FAILED", start) for i in range(FAILED_TASKS)])
        running.create_tasks([_problem(i, "COMPLETED_WITH_ERRORS", start) for i in range(OTHER_PROBLEMS)])
        yield running


@pytest.fixture
def busy(busy_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    busy_sandbox.clear_faults()
    busy_sandbox.set_rate_limit(600)
    busy_sandbox.clear_requests()
    yield busy_sandbox
    busy_sandbox.set_rate_limit(600)


def default_settings(sandbox: RunningSandbox) -> Settings:
    return Settings(api_key=SecretStr(SECRET_KEY), api_base=sandbox.base_url)


@asynccontextmanager
async def sessions(settings: Settings, count: int) -> AsyncIterator[tuple[list[Client], AppState]]:
    """``count`` MCP sessions on one server (one AppState: one table of key budgets, one poller)."""
    state = AppState(settings=settings, client=TasksClient(settings))
    try:
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(Client(build_server(settings, state=state))) for _ in range(count)
            ]
            yield clients, state
    finally:
        await state.client.aclose()


def statuses(sandbox: RunningSandbox) -> list[int]:
    return [int(entry["status"]) for entry in api_requests(sandbox)]


def most_in_any_window(sandbox: RunningSandbox, window: float) -> int:
    times = sorted(float(entry["at"]) for entry in api_requests(sandbox) if entry["status"] != 429)
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


async def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await anyio.sleep(0.05)
    raise AssertionError("the condition never came true")


def scripted(sandbox: RunningSandbox, finish_after: float | None) -> str:
    script: list[dict[str, Any]] = [{"after_seconds": 0.1, "status": "IN_PROGRESS"}]
    if finish_after is not None:
        script.append({"after_seconds": finish_after, "status": "COMPLETED"})
    task = sandbox.create_task(task_type="api_buckets_batches_process", status="PENDING", script=script)
    return str(task["task_id"])


async def test_an_advertised_600_a_minute_lets_a_default_triage_read_all_1500_failures(busy: RunningSandbox) -> None:
    async with sessions(default_settings(busy), 1) as ([client], _):
        result = await client.call_tool("triage_tasks", {"status": "FAILED"})
    text, structured = text_of(result), result.structured_content
    assert not result.is_error and structured is not None, text
    assert structured["scanned"] == FAILED_TASKS and structured["stopped_because"] == "all", text
    assert f"Scanned {FAILED_TASKS:,} of {FAILED_TASKS:,} matching tasks" in text
    assert 429 not in statuses(busy)
    assert len(api_requests(busy)) == FAILED_TASKS // 100


async def test_a_low_enforced_limit_is_never_exceeded_by_lists_waits_and_a_triage(busy: RunningSandbox) -> None:
    busy.set_rate_limit(12, window=6)  # 120/min, in a short window so the load spans several of them
    quick, slow = scripted(busy, 1.0), scripted(busy, 4.0)
    async with sessions(default_settings(busy), 3) as ([lister, waiter, triager], state):
        results: dict[str, Any] = {}

        async def lists() -> None:
            for index in range(8):
                results[f"list{index}"] = await lister.call_tool("list_tasks", {"limit": 5, "offset": index})
                await anyio.sleep(0.5)

        async def waits() -> None:
            results["wait"] = await waiter.call_tool(
                "wait_for_task", {"task_ids": [quick, slow], "timeout_seconds": 30}
            )

        async def triage() -> None:
            results["triage"] = await triager.call_tool("triage_tasks", {"timeout_seconds": 12})

        async with anyio.create_task_group() as group:
            group.start_soon(lists)
            group.start_soon(waits)
            group.start_soon(triage)
    assert all(not result.is_error for result in results.values()), {k: text_of(v) for k, v in results.items()}
    assert results["wait"].structured_content["outcome"] == "all_finished"
    assert 429 not in statuses(busy), "the budget learned the limit: the sandbox never had to refuse"
    assert most_in_any_window(busy, 6.0) <= 12
    triage_result = results["triage"].structured_content
    assert triage_result["stopped_because"] in ("request_budget", "time_budget", "all")
    budget = state.client.budget_for(Credentials(SECRET_KEY))
    assert budget.source == "headers" and budget.per_minute == 120


async def test_a_list_from_another_session_waits_at_most_a_token_while_a_big_triage_runs(
    busy: RunningSandbox,
) -> None:
    busy.set_rate_limit(10, window=5)  # 120/min: a 3,000-task triage (30 pages) needs three windows' worth
    async with sessions(default_settings(busy), 2) as ([scanner, person], state):
        lists: list[Any] = []
        triage: list[Any] = []

        async def scan() -> None:
            triage.append(await scanner.call_tool("triage_tasks", {"max_tasks": 3_000, "timeout_seconds": 10}))

        async with anyio.create_task_group() as group:
            group.start_soon(scan)
            await anyio.sleep(2)  # the scan has learned the limit and is paging
            for _ in range(4):
                lists.append(await person.call_tool("list_tasks", {"limit": 3}))
                await anyio.sleep(1.5)
    budget = state.client.budget_for(Credentials(SECRET_KEY))
    assert all(not result.is_error for result in lists), [text_of(result) for result in lists]
    assert not any("for the request budget" in text_of(result) for result in lists), "no list waited a second"
    # the budget's own record: a person's list waited for at most about one token (0.6 s here), never the scan
    assert budget.longest_wait[Priority.INTERACTIVE] <= budget.interval * 2, (budget.longest_wait, budget.interval)
    scanned = triage[0].structured_content
    assert scanned["stopped_because"] == "request_budget" and scanned["scanned"] < 3_000
    assert "stopped: request budget (120/min for this key, learned from Mixpeek)" in text_of(triage[0])
    assert budget.longest_wait[Priority.BACKGROUND] > 0, "the scan was the one paced"
    assert 429 not in statuses(busy)


async def test_a_wait_with_a_drained_budget_still_reports_the_completion(busy: RunningSandbox) -> None:
    busy.set_rate_limit(4, window=8)
    task_id = scripted(busy, 1.0)
    async with sessions(default_settings(busy), 1) as ([client], _):
        for _ in range(4):  # the window is used up by the time the wait starts
            assert not (await client.call_tool("list_tasks", {"limit": 1})).is_error
        result = await client.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 30})
    text = text_of(result)
    assert not result.is_error, text
    assert result.structured_content is not None and result.structured_content["outcome"] == "success", text
    assert "for the request budget (30/min for this key, learned from Mixpeek)" in text
    assert 429 not in statuses(busy)


async def test_nothing_is_sent_for_a_wait_after_it_was_cancelled(busy: RunningSandbox) -> None:
    busy.set_rate_limit(3, window=8)
    task_id = scripted(busy, None)  # never finishes
    async with sessions(default_settings(busy), 1) as ([client], state):
        for _ in range(3):
            assert not (await client.call_tool("list_tasks", {"limit": 1})).is_error
        budget = state.client.budget_for(Credentials(SECRET_KEY))
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "wait_for_task", {"task_id": task_id, "timeout_seconds": 60})
            await eventually(lambda: budget.queued > 0)  # its first check is waiting for the budget
            group.cancel_scope.cancel()
        # the queued check goes: dropped by the budget (nobody wants it) or cancelled with its poller entry
        await eventually(lambda: budget.queued == 0 and state.poller.entry_count == 0)
        await anyio.sleep(9)  # past the window: a queued check would have gone by now
    polls = [entry for entry in api_requests(busy) if task_id in str(entry.get("path", "")) + str(entry.get("body"))]
    assert polls == [], polls
    assert state.poller.entry_count == 0 and budget.queued == 0


async def test_a_wait_whose_first_check_gets_no_grant_answers_still_waiting_and_its_next_call_finishes(
    busy: RunningSandbox,
) -> None:
    """Reproduces issue 16 point 4: on main this wait was a tool error ("... was not sent: this API key's request
    budget ... Call again in N s") because its task was never observed before the deadline."""
    busy.set_rate_limit(4, window=8)
    task_id = scripted(busy, 1.0)
    async with sessions(default_settings(busy), 1) as ([client], _):
        for _ in range(4):  # the window is used up: no grant can come within the wait's 2 s
            assert not (await client.call_tool("list_tasks", {"limit": 1})).is_error
        first = await client.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 2})
        text, structured = text_of(first), first.structured_content
        assert not first.is_error, text
        assert structured is not None and structured["outcome"] == "timed_out", text
        assert structured["finished"] is False and structured["polls"] == 0, structured
        assert structured["next_call"] == {"task_id": task_id, "timeout_seconds": 2}, structured
        assert "could not be checked yet" in text and "request budget" in text, text
        assert "for the request budget (30/min for this key, learned from Mixpeek)" in text, text
        assert json.dumps(structured["next_call"]) in text, text
        follow_up = {**structured["next_call"], "timeout_seconds": 30}  # the same call, with time to finish
        second = await client.call_tool("wait_for_task", follow_up)
    assert not second.is_error, text_of(second)
    assert second.structured_content is not None and second.structured_content["outcome"] == "success"
    assert 429 not in statuses(busy)


async def test_a_many_task_wait_whose_checks_get_no_grant_answers_still_waiting(busy: RunningSandbox) -> None:
    busy.set_rate_limit(4, window=8)
    ids = [scripted(busy, 1.0), scripted(busy, 1.0)]
    async with sessions(default_settings(busy), 1) as ([client], _):
        for _ in range(4):
            assert not (await client.call_tool("list_tasks", {"limit": 1})).is_error
        result = await client.call_tool("wait_for_task", {"task_ids": ids, "timeout_seconds": 2})
    text, structured = text_of(result), result.structured_content
    assert not result.is_error, text
    assert structured is not None and structured["outcome"] == "timed_out", text
    assert structured["next_call"]["task_ids"] == ids, structured
    assert "request budget" in text, text
