"""Every client config, started exactly as that client would start it, answers initialize and tools/list."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .clients import CLIENTS, MCP_REMOTE, REPO, entry, local_argv, with_port
from .conftest import API_KEY, HttpServer

pytestmark = pytest.mark.anyio

BOUND = 60.0  # seconds any one session may take before the test fails (start-up included)
TOOLS = ["inspect_batch", "list_tasks", "triage_tasks", "wait_for_task"]


def _pinned_mcp_remote() -> Path | None:
    """mcp-remote's CLI from the pinned npm tools (tests/npm), when installed at the version the config pins."""
    package = Path(os.environ.get("MCP_REMOTE_PACKAGE_DIR", REPO / "tests" / "npm" / "node_modules" / "mcp-remote"))
    manifest = package / "package.json"
    if not manifest.exists():
        return None
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    assert f"mcp-remote@{meta['version']}" == MCP_REMOTE, (
        f"tests/npm has mcp-remote {meta['version']}, not {MCP_REMOTE}"
    )
    return package / str(meta["bin"]["mcp-remote"])


async def _check_session(session: ClientSession, wait_max: float | None) -> None:
    init = await session.initialize()
    assert init.server_info.name == "mixpeek-tasks-mcp"
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert sorted(tools) == TOOLS
    if wait_max is not None:  # the config's MIXPEEK_WAIT_MAX_SECONDS reached the server
        assert tools["wait_for_task"].input_schema["properties"]["timeout_seconds"]["maximum"] == wait_max
    listed = await session.call_tool("list_tasks", {"limit": 1})  # the key reached the server and the API took it
    assert not listed.is_error, listed.content


async def _run_stdio(params: StdioServerParameters, wait_max: float | None) -> None:
    with anyio.fail_after(BOUND):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await _check_session(session, wait_max)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("variant", ["uvx", "installed"])
async def test_local_stdio_config_starts_the_server(
    client: str, variant: str, secrets: dict[str, str], sandbox: RunningSandbox
) -> None:
    server = entry(client, variant, secrets)
    assert server.command == ("uvx" if variant == "uvx" else "mixpeek-tasks-mcp")
    assert server.env["MIXPEEK_API_KEY"] == API_KEY, "the key placeholder was not filled the way this client fills it"
    argv = local_argv(server)
    # The config's env as the client passes it; only the API base is pointed at the sandbox (never a real host).
    env = {**server.env, "MIXPEEK_API_BASE": sandbox.base_url}
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    await _run_stdio(params, float(server.env["MIXPEEK_WAIT_MAX_SECONDS"]))


async def _run_http(url: str, headers: dict[str, str]) -> None:
    with anyio.fail_after(BOUND):
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=120.0)) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await _check_session(session, wait_max=None)


@pytest.mark.parametrize("client", [c for c in CLIENTS if c != "claude-desktop"])
async def test_remote_config_reaches_the_shared_server(
    client: str, secrets: dict[str, str], remote_server: HttpServer
) -> None:
    server = entry(client, "remote", secrets)
    assert server.command is None and server.url is not None
    assert server.url.endswith("/mcp")
    assert server.headers == {"Authorization": f"Bearer {secrets['MIXPEEK_MCP_AUTH_TOKEN']}"}
    await _run_http(with_port(server.url, remote_server.port), server.headers)


async def test_remote_config_is_refused_without_its_token(remote_server: HttpServer) -> None:
    """The header in the configs is what gets a client in: the same URL without it is a 401."""
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"http://localhost:{remote_server.port}/mcp", json={})
    assert response.status_code == 401


@pytest.mark.npm
async def test_claude_desktop_remote_config_bridges_through_mcp_remote(
    secrets: dict[str, str], remote_server: HttpServer, tmp_path: Path
) -> None:
    server = entry("claude-desktop", "remote", secrets)
    assert server.command == "npx" and server.args[:2] == ["-y", MCP_REMOTE]
    script = _pinned_mcp_remote()
    if script is None:
        pytest.skip(f"{MCP_REMOTE} is not installed under tests/npm (add it to tests/npm/package.json)")
    node = shutil.which(
        "node", path=f"{REPO / 'tests' / 'npm' / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
    )
    assert node is not None
    args = [with_port(a, remote_server.port) if a.startswith("http://") else a for a in server.args[2:]]
    # npx -y mcp-remote@X ARGS runs mcp-remote's CLI with ARGS; mcp-remote itself expands ${...} in --header.
    env = {**server.env, "HOME": str(tmp_path), "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth")}
    params = StdioServerParameters(command=node, args=[str(script), *args], env=env)
    await _run_stdio(params, wait_max=None)
