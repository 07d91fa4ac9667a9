"""Safe by default: loopback bind, DNS-rebinding protection always on, the bearer token, keys kept out of logs."""

from __future__ import annotations

import subprocess
import sys

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from mixpeek_tasks_mcp.http import check_http_settings, is_loopback_host, transport_security_for
from mixpeek_tasks_mcp.settings import Settings

from ..processes import REPO
from .conftest import CLIENT_KEY, SERVER_KEY, TOKEN, ServeFactory, mcp_session, server_env
from .helpers import INITIALIZE, MCP_HEADERS

BOUND = 30.0


# --- start-up rules (no server needed) ---


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)
    check_http_settings(Settings(transport="streamable-http", host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "mcp.example.com"])
def test_public_bind_requires_token(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(ValueError, match="MIXPEEK_MCP_AUTH_TOKEN"):
        check_http_settings(Settings(transport="sse", host=host))
    check_http_settings(Settings(transport="sse", host=host, mcp_auth_token="a-long-random-secret"))


def test_blank_token_counts_as_none() -> None:
    with pytest.raises(ValueError, match="without an access token"):
        check_http_settings(Settings(transport="streamable-http", host="0.0.0.0", mcp_auth_token="  "))


def test_stdio_is_not_an_http_transport() -> None:
    with pytest.raises(ValueError, match="not an HTTP transport"):
        check_http_settings(Settings(transport="stdio"))


def test_dns_rebinding_protection_is_on_even_on_all_interfaces() -> None:
    settings = Settings(
        transport="streamable-http",
        host="0.0.0.0",
        port=9000,
        mcp_auth_token="t" * 32,
        allowed_hosts=["mcp.example.com", "mcp.example.com:*"],
        allowed_origins=["https://chat.example.com"],
    )
    security = transport_security_for(settings)
    assert security.enable_dns_rebinding_protection
    for host in ("127.0.0.1:9000", "localhost:*", "[::1]:*", "mcp.example.com", "mcp.example.com:*"):
        assert host in security.allowed_hosts
    assert "0.0.0.0:9000" not in security.allowed_hosts and "*" not in security.allowed_hosts
    assert "https://chat.example.com" in security.allowed_origins
    assert "http://localhost:*" in security.allowed_origins


def test_bind_address_is_an_allowed_host() -> None:
    security = transport_security_for(Settings(transport="sse", host="::1", port=8123))
    assert "[::1]:8123" in security.allowed_hosts


def test_refuses_to_start_on_all_interfaces_without_token() -> None:
    for args, env in (
        (["--host", "0.0.0.0"], {}),
        ([], {"MIXPEEK_HOST": "0.0.0.0"}),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", "streamable-http", *args],
            cwd=REPO,
            env=server_env(MIXPEEK_API_KEY=SERVER_KEY, **env),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode != 0
        assert "refusing to bind '0.0.0.0' without an access token" in done.stderr
        assert "listening on" not in done.stderr


# --- the running server ---


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_token_required(serve: ServeFactory, transport: str) -> None:
    server = serve(transport, "--auth-token", TOKEN)
    method = "GET" if transport == "sse" else "POST"
    body = None if transport == "sse" else INITIALIZE
    async with httpx2.AsyncClient(timeout=10) as http:
        for headers, error in (
            ({}, "unauthorized"),
            ({"Authorization": "Bearer wrong-token"}, "invalid_token"),
            ({"Authorization": f"Basic {TOKEN}"}, "invalid_token"),
            ({"Authorization": f"Bearer {TOKEN}x"}, "invalid_token"),
        ):
            response = await http.request(method, server.url, json=body, headers={**MCP_HEADERS, **headers})
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["error"] == error
        messages = await http.post(server.base_url + "/messages/?session_id=x", json=INITIALIZE)
        assert messages.status_code == 401
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url, {"Authorization": f"Bearer {TOKEN}"}) as session:
            tools = await session.list_tools()
            assert len(tools.tools) == 4  # the read-only tools (writes are off by default)
            assert not (await session.call_tool("list_tasks", {"limit": 2})).is_error


@pytest.mark.anyio
async def test_sdk_client_without_token_is_refused(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--auth-token", TOKEN)
    with anyio.fail_after(BOUND), pytest.raises((MCPError, httpx2.HTTPStatusError, ExceptionGroup)):
        async with mcp_session(server.url, {"Authorization": "Bearer nope"}) as session:
            await session.list_tools()


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_wrong_host_and_origin_refused(serve: ServeFactory, transport: str) -> None:
    server = serve(transport, "--auth-token", TOKEN, "--allowed-host", "mcp.example.com:*")
    port = server.base_url.rsplit(":", 1)[1]
    method = "GET" if transport == "sse" else "POST"
    body = None if transport == "sse" else INITIALIZE
    auth = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(timeout=10) as http:

        async def status(**headers: str) -> int:
            if transport == "sse":  # a good request opens an endless stream: read only the status
                async with http.stream(method, server.url, headers={**auth, **headers}) as response:
                    return response.status_code
            return (await http.request(method, server.url, json=body, headers={**auth, **headers})).status_code

        assert await status(Host="evil.example.com") == 421
        assert await status(Host=f"evil.example.com:{port}") == 421
        assert await status(Origin="http://evil.example.com") == 403
        assert await status(Origin=f"http://evil.example.com:{port}") == 403
        # a rebinding attacker without the token is refused before the token matters
        assert (await http.post(server.url, json=INITIALIZE, headers={"Host": "evil.example.com"})).status_code == 421
        assert await status(Host=f"mcp.example.com:{port}") == 200
        assert await status(Origin=f"http://localhost:{port}") == 200
        assert await status() == 200


@pytest.mark.anyio
async def test_keys_and_token_never_logged(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--auth-token", TOKEN, "--allow-key-passthrough", "--log-level", "DEBUG")
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Mixpeek-Api-Key": CLIENT_KEY}
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url, headers) as session:
            assert not (await session.call_tool("list_tasks", {"limit": 1})).is_error
        async with httpx2.AsyncClient(timeout=10) as http:
            assert (
                await http.post(server.url, json=INITIALIZE, headers={"Authorization": "Bearer x"})
            ).status_code == 401
    server.stop()
    log = server.stderr
    assert "DEBUG" in log  # the server did log in detail
    for secret in (SERVER_KEY, CLIENT_KEY, TOKEN):
        assert secret not in log
