"""Fixtures for the manifests tests: the sandbox API on loopback and the real CLI serving Streamable HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

from .clients import entry_point

API_KEY = "sk_manifests_tests_7d1e4c9b2a60"
TOKEN = "manifests-tests-token-3f8a1c5e7b9d2046"
START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on http://[^:/\s]+:(\d+)/")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(port=0, api_keys=[API_KEY], tasks=50, simulate=False)) as running:
        yield running


@pytest.fixture
def secrets() -> dict[str, str]:
    """What a user would have exported (or typed into VS Code's prompt)."""
    return {"MIXPEEK_API_KEY": API_KEY, "MIXPEEK_MCP_AUTH_TOKEN": TOKEN}


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any MIXPEEK_* (so nothing leaks into a server), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class HttpServer:
    """A running ``mixpeek-tasks-mcp serve`` child and what it wrote to stderr."""

    process: subprocess.Popen[str]
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _bound: threading.Event = field(default_factory=threading.Event)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = _LISTENING.search(line)
            if match and not self._bound.is_set():
                self.port = int(match.group(1))
                self._bound.set()


@contextmanager
def serving(argv: list[str], env: Mapping[str, str]) -> Iterator[HttpServer]:
    """Run ``argv`` (an HTTP server on 127.0.0.1, port 0) until it reports its port; SIGTERM it afterwards."""
    process = subprocess.Popen(
        argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    server = HttpServer(process)
    threading.Thread(target=server._pump, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server._bound.wait(0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"server did not start (exit {process.poll()}):\n{server.stderr}")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="module")
def remote_server(sandbox: RunningSandbox) -> Iterator[HttpServer]:
    """The shared server a team would run: Streamable HTTP behind a token, pointed at the sandbox."""
    argv = [entry_point(), "serve", "--transport", "streamable-http", "--port", "0", "--auth-token", TOKEN]
    env = clean_env(MIXPEEK_API_KEY=API_KEY, MIXPEEK_API_BASE=sandbox.base_url)
    with serving(argv, env) as server:
        yield server
