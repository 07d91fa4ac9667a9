"""Shared by the HTTP tests: raw Streamable HTTP messages, two users' key headers, an in-process server, waiting.

Raw JSON-RPC over httpx (rather than an SDK session) is what lets a test hold, drop or reuse a session id the
way a misbehaving client would; the in-process server (a uvicorn thread) is what lets a test look at the
server's own state (its session count, the poller's entries).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from mixpeek_tasks_mcp.http.app import make_uvicorn_server
from mixpeek_tasks_mcp.http.drain import DrainingServer
from mixpeek_tasks_mcp.settings import Settings

from .conftest import CLIENT_KEY, SERVER_KEY

PROTOCOL_VERSION = "2025-06-18"
"""The legacy (session) handshake the raw tests speak."""
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
USER_A = {"X-Mixpeek-Api-Key": CLIENT_KEY}
USER_B = {"X-Mixpeek-Api-Key": SERVER_KEY}
"""Two users of one server, told apart by their passthrough keys (the sandbox knows both)."""


def in_session(headers: dict[str, str], session_id: str) -> dict[str, str]:
    """``headers`` plus what every request inside an open session carries."""
    return {**headers, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": PROTOCOL_VERSION}


def open_session(http: httpx2.Client, url: str, headers: dict[str, str] = MCP_HEADERS) -> str:
    """Initialize a session over raw HTTP (initialize, then notifications/initialized); its id."""
    response = http.post(url, json=INITIALIZE, headers=headers)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert http.post(url, json=INITIALIZED, headers=in_session(headers, session_id)).status_code == 202
    return session_id


@contextmanager
def in_process_server(settings: Settings, server: MCPServer[Any] | None = None) -> Iterator[DrainingServer]:
    """The HTTP app served by uvicorn in a thread of the test process, until the body ends."""
    uvicorn_server = make_uvicorn_server(settings, server)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while uvicorn_server.bound_port is None:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield uvicorn_server
    finally:
        uvicorn_server.should_exit = True
        thread.join(15)


def mcp_url(server: DrainingServer) -> str:
    """The MCP endpoint of a server started by ``in_process_server``."""
    return f"http://127.0.0.1:{server.bound_port}/mcp"


@asynccontextmanager
async def modern_client(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """A 2026-07-28 client (server/discover, subscriptions/listen) over Streamable HTTP."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def until(condition: Callable[[], bool], every: float = 0.05) -> None:
    """Return once ``condition()`` holds (callers bound the wait with ``anyio.fail_after``)."""
    while not condition():  # noqa: ASYNC110 - the state lives in the sandbox, the server process or thread
        await anyio.sleep(every)
