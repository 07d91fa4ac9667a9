"""HTTP transport fixtures: the sandbox API, the real CLI serving HTTP in a subprocess, SDK client sessions."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.dispatcher import ProgressFnT
from mcp.types import CallToolResult

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

from ..processes import ServerProcess, clean_env, serving

SERVER_KEY = "sk_http_tests_server_0123456789"
CLIENT_KEY = "sk_http_tests_client_9876543210"
TOKEN = "http-tests-token-5b0f7c2e9d4a41c8"


def fingerprint(key: str) -> str:
    """What the sandbox logs for a bearer key: the first 12 hex digits of its sha256."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """One sandbox per module that knows two keys: the server's and a client's (for passthrough)."""
    with running_sandbox(SandboxConfig(port=0, api_keys=[SERVER_KEY, CLIENT_KEY], tasks=200, simulate=False)) as sb:
        yield sb


def server_env(**extra: str) -> dict[str, str]:
    """The environment minus any MIXPEEK_* of the caller, plus ``extra``."""
    return clean_env(**extra)


def _command(transport: str, args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", transport, "--port", "0", *args]


ServeFactory = Callable[..., ServerProcess]


@pytest.fixture
def serve(sandbox: RunningSandbox) -> Iterator[ServeFactory]:
    """``serve(transport, *cli_args, **env)`` starts a server against the sandbox with the server key."""
    with_stack: list[Any] = []

    def start(transport: str = "streamable-http", *args: str, **env: str) -> ServerProcess:
        base = {"MIXPEEK_API_KEY": SERVER_KEY, "MIXPEEK_API_BASE": sandbox.base_url}
        manager = serving(_command(transport, args), server_env(**{**base, **env}))
        server = manager.__enter__()
        with_stack.append(manager)
        return server

    yield start
    for manager in reversed(with_stack):
        manager.__exit__(None, None, None)


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An initialized SDK ClientSession over SSE (url ends in /sse) or Streamable HTTP."""
    if url.endswith("/sse"):
        transport = sse_client(url, headers=headers)
        async with transport as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session
        return
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def api_requests(sandbox: RunningSandbox, path_part: str = "/v1/tasks") -> list[dict[str, Any]]:
    """The sandbox request log entries whose path contains ``path_part``."""
    return [entry for entry in sandbox.requests() if path_part in entry["path"]]


@asynccontextmanager
async def waiting_in_background(
    session: ClientSession, task_id: str, on_progress: ProgressFnT
) -> AsyncIterator[list[CallToolResult]]:
    """A ``wait_for_task`` call (120 s budget) runs while the body acts; afterwards the list holds its result."""
    results: list[CallToolResult] = []

    async def call() -> None:
        arguments = {"task_id": task_id, "timeout_seconds": 120}
        results.append(await session.call_tool("wait_for_task", arguments, progress_callback=on_progress))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        yield results
