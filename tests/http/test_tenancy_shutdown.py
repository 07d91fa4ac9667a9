"""One server, two users (issue 18, point 5): SIGTERM ends long calls cleanly, on the default grace period.

With 60 s waits and a triage on a slow upstream in flight, every client got "incomplete chunked read". Now,
shortly before the grace period ends, waits answer as if their budget had run out ("still running, call again
with ...") and the triage answers with the pages it has read: every client gets a complete response.
"""

from __future__ import annotations

import signal
from typing import Any

import anyio
import httpx2
import pytest
from mcp.types import CallToolResult

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from ..processes import ServerProcess
from .conftest import SERVER_KEY, ServeFactory, fingerprint, mcp_session
from .helpers import USER_A, USER_B, until

pytestmark = pytest.mark.anyio
BOUND = 90.0


async def _calls_then_sigterm(
    server: ServerProcess, sandbox: RunningSandbox, tasks: list[str], results: dict[str, CallToolResult]
) -> None:
    """Two users: four 60 s waits and a slow triage in flight (two pages read), then SIGTERM."""
    started: set[str] = set()
    triage_pages = lambda: [  # noqa: E731
        entry
        for entry in sandbox.requests()
        if entry["path"] == "/v1/tasks/list" and entry["key_fingerprint"] == fingerprint(SERVER_KEY) and entry["status"]
    ]
    async with (
        mcp_session(server.url, USER_A) as a,
        mcp_session(server.url, USER_B) as b,
        anyio.create_task_group() as group,
    ):
        for session in (a, b):
            await session.list_tools()  # the client checks structured results against the tools' schemas
        for number, (session, task_id) in enumerate(zip([a, a, b, b], tasks, strict=True)):

            async def wait(name: str = f"wait {number}", session: Any = session, task_id: str = task_id) -> None:
                async def on_progress(*_: Any) -> None:
                    started.add(name)

                arguments = {"task_id": task_id, "timeout_seconds": 60}
                results[name] = await session.call_tool("wait_for_task", arguments, progress_callback=on_progress)

            group.start_soon(wait)

        async def triage() -> None:
            arguments = {"task_type": "engine_inference_run", "max_tasks": 1_000, "timeout_seconds": 60}
            results["triage"] = await b.call_tool("triage_tasks", arguments)

        group.start_soon(triage)
        await until(lambda: len(started) == 4 and len(triage_pages()) >= 2)
        server.process.send_signal(signal.SIGTERM)


async def test_sigterm_gives_every_long_call_its_partial_answer(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    tasks = [sandbox.create_task(status="PENDING")["task_id"] for _ in range(4)]
    sandbox.create_tasks([{"task_type": "engine_inference_run", "status": "FAILED"} for _ in range(1_000)])
    server = serve("streamable-http", "--allow-key-passthrough")  # default grace: 10 s
    results: dict[str, CallToolResult] = {}
    sandbox.set_faults(latency={"ms": 2_000, "route": "list_tasks"})
    try:
        with anyio.fail_after(BOUND):
            await _calls_then_sigterm(server, sandbox, tasks, results)
    except* httpx2.ConnectError:
        pass  # the clients' closing requests (DELETE) once the server has exited; the answers came first
    finally:
        sandbox.clear_faults()
    await anyio.to_thread.run_sync(server.process.wait, BOUND)  # uvicorn re-raises SIGTERM once it has stopped
    assert sorted(results) == ["triage", "wait 0", "wait 1", "wait 2", "wait 3"]
    for name, result in results.items():
        text = " ".join(getattr(block, "text", "") for block in result.content)
        assert not result.is_error, f"{name}: {text[:300]}"
        if name.startswith("wait"):
            assert result.structured_content["outcome"] == "timed_out" and result.structured_content["next_call"]
    triaged = results["triage"].structured_content
    assert triaged["stopped_because"] == "time_budget" and 200 <= triaged["scanned"] < 1_000
    assert "Traceback" not in server.stderr


async def test_sigterm_before_a_wait_first_saw_its_task_gives_its_still_waiting_answer(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    """Reproduces a gap in the above: a wait whose first check had no answer yet at SIGTERM was a tool error
    ("No answer from Mixpeek before the deadline") on main, not the partial answer every other wait gets."""
    task_id = sandbox.create_task(status="PENDING")["task_id"]
    server = serve("streamable-http", "--allow-key-passthrough")
    results: dict[str, CallToolResult] = {}
    sandbox.set_faults(latency={"ms": 30_000, "route": "get_task"})  # the first check hangs until the shutdown
    checking = lambda: any(entry["path"] == f"/v1/tasks/{task_id}" for entry in sandbox.requests())  # noqa: E731
    try:
        with anyio.fail_after(BOUND):
            async with mcp_session(server.url, USER_A) as a, anyio.create_task_group() as group:
                await a.list_tools()

                async def wait() -> None:
                    arguments = {"task_id": task_id, "timeout_seconds": 60}
                    results["wait"] = await a.call_tool("wait_for_task", arguments)

                group.start_soon(wait)
                await until(checking)
                server.process.send_signal(signal.SIGTERM)
    except* httpx2.ConnectError:
        pass  # the client's closing DELETE once the server has exited; the answer came first
    finally:
        sandbox.clear_faults()
    await anyio.to_thread.run_sync(server.process.wait, BOUND)
    result = results["wait"]
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, text[:300]
    structured = result.structured_content
    assert structured["outcome"] == "timed_out" and structured["polls"] == 0, structured
    assert structured["next_call"] == {"task_id": task_id, "timeout_seconds": 60}, structured
    assert "could not be checked yet" in text and "shutting down" in text, text
    assert "Traceback" not in server.stderr
