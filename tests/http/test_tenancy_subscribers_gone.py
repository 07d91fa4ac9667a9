"""One server, two users (issue 18, point 4): legacy subscriptions end when their client has gone.

10,000 subscriptions kept polling for the 1,800 s session idle timeout after every TCP connection had dropped
without a DELETE. Now a session that follows tasks ends within 30 s of its last stream closing (its id then
answers 404), unless its client comes back first. In process (a uvicorn thread), so the test can see the
poller's entries go.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.tools import AppState

from .conftest import CLIENT_KEY, SERVER_KEY, fingerprint
from .helpers import INITIALIZE, INITIALIZED, MCP_HEADERS, in_process_server, in_session, mcp_url, until

pytestmark = pytest.mark.anyio
BOUND = 90.0
"""Generous: the session ends about 25 s after its stream closed (never asserted as a duration)."""
USER_A = {**MCP_HEADERS, "X-Mixpeek-Api-Key": CLIENT_KEY}
USER_B = {**MCP_HEADERS, "X-Mixpeek-Api-Key": SERVER_KEY}


async def subscribed_session(http: httpx2.AsyncClient, url: str, user: dict[str, str], uri: str) -> str:
    opened = await http.post(url, json=INITIALIZE, headers=user)
    session_id = opened.headers["mcp-session-id"]
    headers = in_session(user, session_id)
    assert (await http.post(url, json=INITIALIZED, headers=headers)).status_code == 202
    subscribe = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": uri}}
    answer = await http.post(url, json=subscribe, headers=headers)
    assert answer.status_code == 200 and '"result"' in answer.text, answer.text[:300]
    return session_id


@asynccontextmanager
async def get_stream(url: str, headers: dict[str, str], heard: list[str] | None = None) -> AsyncIterator[None]:
    """The session's GET stream, open while the body runs; dropped (no DELETE) when it ends."""
    opened = anyio.Event()

    async def hold() -> None:
        stream_headers = {k: v for k, v in headers.items() if k != "Content-Type"} | {"Accept": "text/event-stream"}
        async with (
            httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=300.0)) as http,
            http.stream("GET", url, headers=stream_headers) as response,
        ):
            assert response.status_code == 200
            opened.set()
            async for line in response.aiter_lines():
                if heard is not None:
                    heard.append(line)

    async with anyio.create_task_group() as group:
        group.start_soon(hold)
        await opened.wait()
        yield
        group.cancel_scope.cancel()


def requests_by(sandbox: RunningSandbox, key: str) -> list[dict[str, Any]]:
    return [entry for entry in sandbox.requests() if entry["key_fingerprint"] == fingerprint(key)]


async def test_subscriptions_of_a_vanished_client_stop_and_a_returning_one_keeps_them(
    sandbox: RunningSandbox,
) -> None:
    settings = Settings(
        transport="streamable-http",
        port=0,
        api_base=sandbox.base_url,
        api_key=SERVER_KEY,
        allow_key_passthrough=True,  # and the default request budget: checks queue behind it
    )
    state = AppState(settings=settings, client=TasksClient(settings))
    task_id = sandbox.create_task(status="PENDING")["task_id"]
    uri = f"mixpeek://tasks/{task_id}"
    heard: list[str] = []
    with in_process_server(settings, build_server(settings, state=state)) as server, anyio.fail_after(BOUND):
        url = mcp_url(server)
        async with httpx2.AsyncClient(timeout=30) as http:
            gone = await subscribed_session(http, url, USER_A, uri)
            back = await subscribed_session(http, url, USER_B, uri)
            assert state.poller.entry_count == 2  # one entry per key
            async with get_stream(url, in_session(USER_A, gone)):
                pass  # A's client opens its stream, then vanishes without a DELETE
            async with get_stream(url, in_session(USER_B, back)):
                pass  # B's connection drops too...
            async with get_stream(url, in_session(USER_B, back), heard):  # ...and B comes back
                await until(lambda: state.poller.entry_count == 1, every=0.1)
                answer = await http.post(
                    url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"}, headers=in_session(USER_A, gone)
                )
                assert answer.status_code == 404
                sandbox.transition(task_id, "IN_PROGRESS")
                await until(lambda: any("notifications/resources/updated" in line for line in heard), every=0.1)
