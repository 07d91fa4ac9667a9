"""Upstream trouble: retries, clear errors, a server that survives, and a key that never leaks."""

from __future__ import annotations

import json
import logging
import tempfile
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from pydantic import SecretStr

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import SECRET_KEY, api_requests, session, stdio_server, text_of

pytestmark = pytest.mark.anyio


def list_calls(sandbox: RunningSandbox) -> int:
    return sum(1 for entry in api_requests(sandbox) if entry["path"] == "/v1/tasks/list")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_transient_statuses_are_retried_and_the_call_succeeds(
    sandbox: RunningSandbox, settings: Settings, status: int
) -> None:
    sandbox.set_faults(force_status={"status": status, "count": 2, "retry_after": 0, "route": "list_tasks"})
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {"limit": 2})
    assert not result.is_error, text_of(result)
    assert list_calls(sandbox) == 3


async def test_retry_after_from_a_rate_limit_is_honoured(sandbox: RunningSandbox, settings: Settings) -> None:
    sandbox.set_faults(rate_limit={"after": 1, "retry_after": 1, "route": "list_tasks"})
    async with session(settings) as client:
        first = await client.call_tool("list_tasks", {"limit": 1})
        second = await client.call_tool("list_tasks", {"limit": 1})
    assert not first.is_error
    assert not second.is_error, text_of(second)
    statuses = [entry.get("status") for entry in api_requests(sandbox)]
    assert 429 in statuses and statuses[-1] == 200


async def test_persistent_5xx_becomes_a_clear_error_and_the_server_lives_on(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    sandbox.set_faults(force_status={"status": 503, "count": None, "route": "list_tasks", "message": "model warming"})
    async with session(settings) as client:
        failed = await client.call_tool("list_tasks", {})
        assert failed.is_error
        text = text_of(failed)
        assert "HTTP 503" in text and "after 4 attempts" in text and "try again" in text
        assert list_calls(sandbox) == 4
        sandbox.clear_faults()
        recovered = await client.call_tool("list_tasks", {"limit": 1})
    assert not recovered.is_error, text_of(recovered)


async def test_a_500_is_retried_at_most_once(sandbox: RunningSandbox, settings: Settings) -> None:
    sandbox.set_faults(force_status={"status": 500, "count": None, "route": "list_tasks"})
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {})
    assert result.is_error and "HTTP 500" in text_of(result)
    assert list_calls(sandbox) == 2


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("non_json", "is not JSON"),
        ("html", "is not JSON"),
        ("truncated_json", "is not JSON"),
        ("wrong_shape", "not a task list"),
    ],
)
async def test_a_garbage_body_is_a_clear_error(
    sandbox: RunningSandbox, settings: Settings, kind: str, expected: str
) -> None:
    sandbox.set_faults(malformed={"kind": kind, "count": 1, "route": "list_tasks"})
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {})
        after = await client.call_tool("list_tasks", {"limit": 1})
    assert result.is_error
    assert expected in text_of(result), text_of(result)
    assert not after.is_error


async def test_a_refused_key_names_the_setting_and_is_not_retried(sandbox: RunningSandbox, settings: Settings) -> None:
    wrong = settings.model_copy(update={"api_key": SecretStr("sk_live_not_the_right_one_123")})
    async with session(wrong) as client:
        result = await client.call_tool("list_tasks", {})
    text = text_of(result)
    assert result.is_error
    assert "HTTP 401" in text and "MIXPEEK_API_KEY" in text
    assert "sk_live_not_the_right_one_123" not in text
    assert list_calls(sandbox) == 1


async def test_a_slow_upstream_hits_the_read_timeout_and_says_so(sandbox: RunningSandbox, settings: Settings) -> None:
    sandbox.set_faults(latency={"ms": 3000, "route": "get_task"})
    task = sandbox.create_task(task_type="thumbnail", status="COMPLETED")
    quick = settings.model_copy(update={"read_timeout": 0.5, "max_retries": 1})
    async with session(quick) as client:
        result = await client.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 0})
    assert result.is_error
    assert "Could not reach Mixpeek" in text_of(result) and "ReadTimeout" in text_of(result)


async def test_the_api_key_never_appears_in_any_output_or_log(
    sandbox: RunningSandbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    task = sandbox.create_task(task_type="thumbnail", status="IN_PROGRESS")
    outputs: list[Any] = []
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_tasks", {"status": "FAILED", "limit": 20}),
        ("list_tasks", {"status": "bogus"}),
        ("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 1}),
        ("wait_for_task", {"task_id": "missing"}),
    ]
    async with session(settings) as client:
        for name, arguments in calls:
            outputs.append((await client.call_tool(name, arguments)).model_dump(mode="json"))
        sandbox.set_faults(force_status={"status": 503, "count": None, "message": f"echo {SECRET_KEY}"})
        outputs.append((await client.call_tool("list_tasks", {})).model_dump(mode="json"))
        sandbox.clear_faults()
        outputs.append((await client.list_tools()).model_dump(mode="json"))
    dumped = json.dumps(outputs)
    assert "Bearer" not in dumped
    assert SECRET_KEY not in dumped
    assert "echo ***" in dumped  # an upstream message that echoed the key was redacted
    assert SECRET_KEY not in caplog.text
    assert repr(settings).count(SECRET_KEY) == 0

    with tempfile.TemporaryFile("w+") as errlog:
        params = stdio_server(sandbox)
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            for name, arguments in calls:
                await client.call_tool(name, arguments)
        errlog.seek(0)
        stderr = errlog.read()
    assert "list_tasks" in stderr or "tasks" in stderr  # debug logging really was on
    assert SECRET_KEY not in stderr
