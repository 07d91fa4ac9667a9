"""End-to-end fixtures: the real sandbox on loopback and MCP client sessions against our server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings

SECRET_KEY = "sk_test_e2e_5f0c2d9a7b13"
"""The key the sandbox accepts; every test output is scanned for it."""


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    # advertises and enforces 600 requests/min per key (a Pro key): the server learns it from the headers
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=240, simulate=False, seed=11, rate_limit_rpm=600)
    with running_sandbox(config) as running:
        yield running


@pytest.fixture
def settings(sandbox: RunningSandbox) -> Settings:
    sandbox.clear_faults()
    sandbox.clear_requests()
    return Settings(
        api_key=SecretStr(SECRET_KEY),
        api_base=sandbox.base_url,
        max_retries=3,
        retry_after_cap=1.0,
    )


@asynccontextmanager
async def session(settings: Settings, **client_options: Any) -> AsyncIterator[Client]:
    """An in-process MCP client session (the SDK's Client) against a freshly built server."""
    async with Client(build_server(settings), **client_options) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def api_requests(sandbox: RunningSandbox, prefix: str = "/v1/") -> list[dict[str, Any]]:
    return [entry for entry in sandbox.requests() if str(entry.get("path", "")).startswith(prefix)]


def stdio_server(sandbox: RunningSandbox, **env: str) -> StdioServerParameters:
    """How a client launches the server: ``python -m mixpeek_tasks_mcp`` with the key in its environment."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mixpeek_tasks_mcp"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "MIXPEEK_API_BASE": sandbox.base_url,
            "MIXPEEK_API_KEY": SECRET_KEY,
            "MIXPEEK_LOG_LEVEL": "DEBUG",
            **env,
        },
    )
