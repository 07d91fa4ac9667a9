"""One server, two users (issue 18, point 3): what one key may hold at once, on default settings.

256 x 50 listen streams by user A left user B "Subscription limit reached"; nothing stopped one key from
running any number of waits, triages or legacy subscriptions. Each cap is per key, names its setting when it
refuses, and leaves the other key alone.
"""

from __future__ import annotations

import warnings
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest
from mcp import ClientSession, MCPError

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import CLIENT_KEY, ServeFactory, fingerprint, mcp_session
from .helpers import USER_A, USER_B, modern_client, until

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
BOUND = 120.0
DEFAULTS = Settings()


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def test_waits_and_triages_are_capped_per_key(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    task_id = sandbox.create_task(status="PENDING")["task_id"]
    waits, triages = DEFAULTS.max_waits_per_key, DEFAULTS.max_triages_per_key
    started: set[int] = set()
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url, USER_A) as a, mcp_session(server.url, USER_B) as b:
            async with anyio.create_task_group() as group:
                for number in range(waits):

                    async def wait(number: int = number) -> None:
                        async def on_progress(*_: Any) -> None:
                            started.add(number)

                        arguments = {"task_id": task_id, "timeout_seconds": 100}
                        await a.call_tool("wait_for_task", arguments, progress_callback=on_progress)

                    group.start_soon(wait)
                await until(lambda: len(started) == waits)
                refused = await a.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 0})
                assert refused.is_error and "MIXPEEK_MAX_WAITS_PER_KEY" in _text(refused), _text(refused)[:300]
                other = await b.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 0})
                assert not other.is_error, _text(other)[:300]
                sandbox.transition(task_id, "COMPLETED")

            sandbox.set_faults(latency={"ms": 4_000, "route": "list_tasks"})
            slow = lambda: [  # noqa: E731
                entry
                for entry in sandbox.requests()
                if entry["path"] == "/v1/tasks/list"
                and entry["status"] is None
                and entry["key_fingerprint"] == fingerprint(CLIENT_KEY)
            ]
            try:
                async with anyio.create_task_group() as group:
                    for _ in range(triages):
                        group.start_soon(a.call_tool, "triage_tasks", {"status": "FAILED", "timeout_seconds": 30})
                    await until(lambda: len(slow()) >= triages)
                    refused = await a.call_tool("triage_tasks", {"status": "FAILED"})
                    assert refused.is_error and "MIXPEEK_MAX_TRIAGES_PER_KEY" in _text(refused), _text(refused)[:300]
                    other = await b.call_tool("triage_tasks", {"status": "FAILED"})
                    assert not other.is_error, _text(other)[:300]
            finally:
                sandbox.clear_faults()


async def test_listen_streams_and_subscriptions_are_capped_per_key(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    uri = f"mixpeek://tasks/{sandbox.create_task(status='PENDING')['task_id']}"
    with anyio.fail_after(BOUND):
        async with AsyncExitStack() as streams:
            a = await streams.enter_async_context(modern_client(server.url, USER_A))
            for _ in range(DEFAULTS.max_listen_streams_per_key):
                await streams.enter_async_context(a.listen(resource_subscriptions=[uri]))
            with pytest.raises(MCPError) as refused:
                await streams.enter_async_context(a.listen(resource_subscriptions=[uri]))
            assert "MIXPEEK_MAX_LISTEN_STREAMS_PER_KEY" in refused.value.error.message
            async with modern_client(server.url, USER_B) as b, b.listen(resource_subscriptions=[uri]):
                pass  # B's stream opens

        tasks = sandbox.create_tasks([{"status": "PENDING"} for _ in range(DEFAULTS.max_subscriptions_per_key + 1)])
        uris = [f"mixpeek://tasks/{task['task_id']}" for task in tasks]
        per_session = 50
        async with AsyncExitStack() as sessions:
            warnings.simplefilter("ignore")
            held: list[ClientSession] = []
            for start in range(0, DEFAULTS.max_subscriptions_per_key, per_session):
                session = await sessions.enter_async_context(mcp_session(server.url, USER_A))
                held.append(session)
                for one in uris[start : start + per_session]:
                    await session.subscribe_resource(one)
            extra = await sessions.enter_async_context(mcp_session(server.url, USER_A))
            with pytest.raises(MCPError) as refused:
                await extra.subscribe_resource(uris[-1])
            assert "MIXPEEK_MAX_SUBSCRIPTIONS_PER_KEY" in refused.value.error.message
            async with mcp_session(server.url, USER_B) as b:
                await b.subscribe_resource(uris[-1])
            await held[0].unsubscribe_resource(uris[0])  # room again for A
            await extra.subscribe_resource(uris[-1])
