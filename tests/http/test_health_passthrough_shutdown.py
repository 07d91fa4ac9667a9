"""/healthz and /readyz, per-client key passthrough (checked in the sandbox's request log), graceful shutdown."""

from __future__ import annotations

import signal
import socket
from typing import Any

import anyio
import httpx2
import pytest

from mixpeek_tasks_mcp.http.health import ReadinessProbe
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import (
    CLIENT_KEY,
    SERVER_KEY,
    TOKEN,
    ServeFactory,
    api_requests,
    fingerprint,
    mcp_session,
    waiting_in_background,
)

pytestmark = pytest.mark.anyio
BOUND = 30.0


def _closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_health_and_ready_need_no_token(serve: ServeFactory, transport: str) -> None:
    server = serve(transport, "--auth-token", TOKEN)
    async with httpx2.AsyncClient(timeout=10) as http:
        health = await http.get(server.base_url + "/healthz", headers={"Host": "10.0.0.7:8000"})
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = await http.get(server.base_url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"


async def test_not_ready_when_api_unreachable(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_API_BASE=f"http://127.0.0.1:{_closed_port()}")
    async with httpx2.AsyncClient(timeout=10) as http:
        assert (await http.get(server.base_url + "/healthz")).status_code == 200
        ready = await http.get(server.base_url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready"
    assert "unreachable" in ready.json()["reason"]


async def test_not_ready_without_any_key(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_API_KEY="")
    async with httpx2.AsyncClient(timeout=10) as http:
        ready = await http.get(server.base_url + "/readyz")
    assert ready.status_code == 503
    assert "no Mixpeek API key" in ready.json()["reason"]
    passthrough = serve("streamable-http", "--allow-key-passthrough", MIXPEEK_API_KEY="")
    async with httpx2.AsyncClient(timeout=10) as http:
        assert (await http.get(passthrough.base_url + "/readyz")).status_code == 200


async def test_readiness_is_cached_and_sends_no_key() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(404)

    settings = Settings(api_key=SERVER_KEY, api_base="http://127.0.0.1:9")
    probe = ReadinessProbe(settings, cache_seconds=3600, transport=httpx2.MockTransport(handler))
    first, second = await probe.check(), await probe.check()
    assert first is second and first.ready and first.body["api_base_status"] == 404
    assert len(seen) == 1
    assert "authorization" not in seen[0].headers
    assert str(seen[0].url) == "http://127.0.0.1:9/"


def _list_calls(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return api_requests(sandbox, "/v1/tasks/list")


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_key_passthrough(serve: ServeFactory, sandbox: RunningSandbox, transport: str) -> None:
    server = serve(transport, "--allow-key-passthrough")
    with anyio.fail_after(BOUND):
        sandbox.clear_requests()
        async with mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY, "X-Mixpeek-Namespace": "ns_team"}) as s:
            assert not (await s.call_tool("list_tasks", {"limit": 1})).is_error
        (call,) = _list_calls(sandbox)
        assert call["key_fingerprint"] == fingerprint(CLIENT_KEY)
        assert call["namespace"] == "ns_team"

        sandbox.clear_requests()
        async with mcp_session(server.url) as session:  # no header: the server's own key
            assert not (await session.call_tool("list_tasks", {"limit": 1})).is_error
        (call,) = _list_calls(sandbox)
        assert call["key_fingerprint"] == fingerprint(SERVER_KEY)


async def test_passthrough_header_ignored_unless_enabled(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    server = serve("streamable-http")
    with anyio.fail_after(BOUND):
        sandbox.clear_requests()
        async with mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as session:
            assert not (await session.call_tool("list_tasks", {"limit": 1})).is_error
    (call,) = _list_calls(sandbox)
    assert call["key_fingerprint"] == fingerprint(SERVER_KEY)


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_sigterm_lets_in_flight_wait_finish(serve: ServeFactory, sandbox: RunningSandbox, transport: str) -> None:
    task_id = sandbox.create_task(status="PROCESSING")["task_id"]
    server = serve(transport, "--log-level", "INFO", MIXPEEK_SHUTDOWN_GRACE_SECONDS="25")
    first_progress, progress_after_sigterm = anyio.Event(), anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if sigterm_sent:
            progress_after_sigterm.set()
        first_progress.set()

    sigterm_sent = False

    with anyio.fail_after(BOUND):
        async with mcp_session(server.url) as session:
            await session.list_tools()
            async with waiting_in_background(session, task_id, on_progress) as results:
                await first_progress.wait()
                server.process.send_signal(signal.SIGTERM)
                sigterm_sent = True
                # no new connections now, but the wait in flight goes on polling and reporting progress
                await progress_after_sigterm.wait()
                sandbox.transition(task_id, "COMPLETED")
    (result,) = results
    assert result is not None and not result.is_error, result
    assert result.structured_content["outcome"] == "success"
    await anyio.to_thread.run_sync(server.process.wait, BOUND)
    assert "in-flight request" in server.stderr
    assert "Traceback" not in server.stderr
