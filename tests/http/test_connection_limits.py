"""Slow and surplus connections cannot pile up (issue 13, defect 14): raw sockets against the real CLI server.

A request (headers and body) must arrive within MIXPEEK_HTTP_HEADER_TIMEOUT of its first byte (or of the
connection opening), whatever the token; beyond MIXPEEK_HTTP_MAX_CONNECTIONS open connections a new one gets
503 at once. The bounds below are generous: what is asserted is that the server closes, not how fast.
"""

from __future__ import annotations

import socket
import time

import anyio
import httpx2
import pytest

from .conftest import TOKEN, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio

HEADER_TIMEOUT = 1.0
CLOSED_WITHIN = HEADER_TIMEOUT + 6.0
SLOW_REQUEST = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: " + b"a" * 200


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(0.2)
    return sock


def _closed(sock: socket.socket) -> bool:
    """True once the server has closed its end (or reset it)."""
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def _trickle_until_closed(sock: socket.socket, data: bytes, bound: float) -> float | None:
    """Send ``data`` a byte at a time (every 0.2 s) until the server closes; seconds it took, or None."""
    start = time.monotonic()
    for byte in data:
        if time.monotonic() - start > bound:
            return None
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return time.monotonic() - start
        if _closed(sock):
            return time.monotonic() - start
    return None


def test_a_request_trickled_in_is_cut_off(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--http-header-timeout", str(HEADER_TIMEOUT), MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    with _connect(server.port) as sock:
        took = _trickle_until_closed(sock, SLOW_REQUEST, CLOSED_WITHIN)
    assert took is not None, f"a request sent a byte every 0.2 s was still open after {CLOSED_WITHIN} s"


def test_a_silent_connection_and_a_slow_body_are_cut_off(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_HTTP_HEADER_TIMEOUT=str(HEADER_TIMEOUT))
    with _connect(server.port) as silent, _connect(server.port) as slow_body:
        slow_body.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{")
        deadline = time.monotonic() + CLOSED_WITHIN
        while not (_closed(silent) and _closed(slow_body)):
            assert time.monotonic() < deadline, "idle or slow-body connections were still open"


async def test_complete_requests_and_long_responses_are_not_cut_off(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--http-header-timeout", str(HEADER_TIMEOUT))
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/healthz")).status_code == 200
        await anyio.sleep(HEADER_TIMEOUT * 1.5)  # kept alive, idle: not a request in progress
        assert (await http.get("/healthz")).status_code == 200
    async with mcp_session(server.url) as session:
        await anyio.sleep(HEADER_TIMEOUT * 2.5)  # its GET stream is a response in progress, not a request
        result = await session.call_tool("list_tasks", {"limit": 1})
        assert not result.is_error


def test_connections_beyond_the_cap_get_503_at_once(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--http-max-connections", "4", "--http-header-timeout", "60")
    held = [_connect(server.port) for _ in range(4)]
    try:
        time.sleep(0.3)  # let the server accept them
        with _connect(server.port) as extra:
            extra.settimeout(10)
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"connection: close" in answer.lower()
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while True:  # the held ones are gone: room again
        try:
            if httpx2.get(server.base_url + "/healthz").status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        assert time.monotonic() < deadline, "no room after the held connections closed"
        time.sleep(0.1)
