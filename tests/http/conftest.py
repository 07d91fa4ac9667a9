"""HTTP transport fixtures: the sandbox API, the real CLI serving HTTP in a subprocess, SDK client sessions."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

REPO = Path(__file__).resolve().parents[2]
SERVER_KEY = "sk_http_tests_server_0123456789"
CLIENT_KEY = "sk_http_tests_client_9876543210"
TOKEN = "http-tests-token-5b0f7c2e9d4a41c8"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on (http://[^/\s]+)(/[a-z]+)")


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A ``python -m mixpeek_tasks_mcp serve`` child and what it wrote to stderr."""

    process: subprocess.Popen[str]
    base_url: str = ""
    path: str = ""
    lines: list[str] = field(default_factory=list)
    _listening: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """The MCP endpoint (``/mcp`` or ``/sse``)."""
        return self.base_url + self.path

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = _LISTENING.search(line)
            if match and not self._listening.is_set():
                self.base_url, self.path = match.group(1), match.group(2)
                self._listening.set()

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait (bounded); SIGKILL as a last resort. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise


def _command(transport: str, args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", transport, "--port", "0", *args]


@contextmanager
def serving(transport: str, *args: str, env: dict[str, str]) -> Iterator[ServerProcess]:
    """Start the real CLI on 127.0.0.1 and a free port; stop it (SIGTERM) afterwards."""
    process = subprocess.Popen(
        _command(transport, args),
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ServerProcess(process)
    threading.Thread(target=server._pump, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server._listening.wait(0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"server did not start (exit {process.poll()}):\n{server.stderr}")
        yield server
    finally:
        if process.poll() is None:
            server.stop()


ServeFactory = Callable[..., ServerProcess]


@pytest.fixture
def serve(sandbox: RunningSandbox) -> Iterator[ServeFactory]:
    """``serve(transport, *cli_args, **env)`` starts a server against the sandbox with the server key."""
    with_stack: list[Any] = []

    def start(transport: str = "streamable-http", *args: str, **env: str) -> ServerProcess:
        base = {"MIXPEEK_API_KEY": SERVER_KEY, "MIXPEEK_API_BASE": sandbox.base_url}
        manager = serving(transport, *args, env=server_env(**{**base, **env}))
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
