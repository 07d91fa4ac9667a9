"""Both tools over Streamable HTTP (stateful and stateless) and SSE, with the SDK's own HTTP clients."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import ServeFactory, api_requests, mcp_session, waiting_in_background
from .helpers import modern_client

pytestmark = pytest.mark.anyio

MODES = {
    "streamable-http": ("streamable-http",),
    "streamable-http-stateless": ("streamable-http", "--stateless"),
    "sse": ("sse",),
}
BOUND = 30.0  # seconds: the most any step below may take before the test fails


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return MODES[request.param]


async def test_tools_list_list_tasks_and_triage_tasks(serve: ServeFactory, mode: tuple[str, ...]) -> None:
    server = serve(*mode)
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    with anyio.fail_after(BOUND):
        async with mcp_session(server.url) as session:
            tools = await session.list_tools()
            assert sorted(tool.name for tool in tools.tools) == [
                "inspect_batch",
                "list_tasks",
                "triage_tasks",
                "wait_for_task",
            ]
            result = await session.call_tool("list_tasks", {"limit": 3})
            triaged = await session.call_tool("triage_tasks", {}, progress_callback=on_progress)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert len(result.structured_content["tasks"]) == 3
    assert not triaged.is_error, triaged.content
    assert triaged.structured_content is not None and triaged.structured_content["stopped_because"] == "all"
    assert progress and all(message and message.startswith("scanned ") for message in progress)


async def test_wait_for_task_streams_progress(
    serve: ServeFactory, sandbox: RunningSandbox, mode: tuple[str, ...]
) -> None:
    task_id = sandbox.create_task(status="PROCESSING")["task_id"]
    server = serve(*mode)
    progress: list[tuple[float, float | None, str | None]] = []
    seen_two = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))
        if len(progress) >= 2:
            seen_two.set()

    with anyio.fail_after(BOUND):
        async with mcp_session(server.url) as session:
            await session.list_tools()
            async with waiting_in_background(session, task_id, on_progress) as results:
                await seen_two.wait()
                sandbox.transition(task_id, "COMPLETED")
    (result,) = results
    assert not result.is_error, result.content
    assert result.structured_content["outcome"] == "success"
    assert result.structured_content["task"]["status"] == "COMPLETED"
    values = [value for value, _, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert all(message and "PROCESSING" in message for _, _, message in progress[:2])


def _polls(sandbox: RunningSandbox, task_id: str) -> int:
    return len(api_requests(sandbox, f"/v1/tasks/{task_id}"))


async def _cancel_after_two_polls(sandbox: RunningSandbox, task_id: str, call_tool: Any) -> int:
    """Start a long wait, cancel it once the server has polled twice; return the poll count at that point."""
    two_polls = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if _polls(sandbox, task_id) >= 2:
            two_polls.set()

    async with anyio.create_task_group() as group:
        arguments = {"task_id": task_id, "timeout_seconds": 300}
        group.start_soon(lambda: call_tool("wait_for_task", arguments, progress_callback=on_progress))
        await two_polls.wait()
        group.cancel_scope.cancel()  # the SDK client sends notifications/cancelled (or closes the stream)
    return _polls(sandbox, task_id)


async def _assert_polling_stopped(sandbox: RunningSandbox, task_id: str, at_cancel: int) -> None:
    # Polls back off 1 s, 1.5 s, 2.25 s...: a wait still running polls again within 4 s of the cancel.
    await anyio.sleep(4.5)
    assert _polls(sandbox, task_id) <= at_cancel + 1, "the server kept polling after the call was cancelled"


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_cancellation_stops_polling(serve: ServeFactory, sandbox: RunningSandbox, transport: str) -> None:
    task_id = sandbox.create_task(status="PROCESSING")["task_id"]
    server = serve(transport)
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url) as session:
            await session.list_tools()
            at_cancel = await _cancel_after_two_polls(sandbox, task_id, session.call_tool)
            await _assert_polling_stopped(sandbox, task_id, at_cancel)
            # the session is still usable after a cancelled call
            assert not (await session.call_tool("list_tasks", {"limit": 1})).is_error


async def test_cancellation_stateless_modern_client(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    """Stateless: a 2026-era client cancels by closing the POST stream, which the server sees.

    (A 2025-era client's notifications/cancelled arrives as a separate POST that no session ties to the
    running call, so in stateless mode those waits end at their own timeout; see docs/conformance.md.)
    """
    task_id = sandbox.create_task(status="PROCESSING")["task_id"]
    server = serve("streamable-http", "--stateless")
    with anyio.fail_after(BOUND):
        async with modern_client(server.url) as client:
            await client.list_tools()
            at_cancel = await _cancel_after_two_polls(sandbox, task_id, client.call_tool)
            await _assert_polling_stopped(sandbox, task_id, at_cancel)
