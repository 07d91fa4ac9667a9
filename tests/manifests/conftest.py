"""Fixtures for the manifests tests: the sandbox API on loopback and the real CLI serving Streamable HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

from ..processes import ServerProcess, clean_env, serving
from .clients import entry_point

API_KEY = "sk_manifests_tests_7d1e4c9b2a60"
TOKEN = "manifests-tests-token-3f8a1c5e7b9d2046"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(port=0, api_keys=[API_KEY], tasks=50, simulate=False)) as running:
        yield running


@pytest.fixture
def secrets() -> dict[str, str]:
    """What a user would have exported (or typed into VS Code's prompt)."""
    return {"MIXPEEK_API_KEY": API_KEY, "MIXPEEK_MCP_AUTH_TOKEN": TOKEN}


HttpServer = ServerProcess


@pytest.fixture(scope="module")
def remote_server(sandbox: RunningSandbox) -> Iterator[HttpServer]:
    """The shared server a team would run: Streamable HTTP behind a token, pointed at the sandbox."""
    argv = [entry_point(), "serve", "--transport", "streamable-http", "--port", "0", "--auth-token", TOKEN]
    env = clean_env(MIXPEEK_API_KEY=API_KEY, MIXPEEK_API_BASE=sandbox.base_url)
    with serving(argv, env) as server:
        yield server
