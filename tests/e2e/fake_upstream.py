"""A hostile Mixpeek look-alike on loopback: raw HTTP/1.1 over asyncio, for faults the sandbox cannot make.

Each request picks its fault from the path: the server's API base is ``{url}/m/{mode}``, so requests arrive as
``/m/{mode}/v1/tasks/...`` and tests (even concurrent ones) need no shared switch. Modes:

- ``echo-<status>``: Mixpeek's error envelope (or, for 200, a task list / a FAILED task) whose every string,
  passthrough keys included, echoes the request's Authorization header; the Content-Type echoes it too.
- ``status-<status>``: a plain error envelope with that status.
- ``retry-after-<value>``: 429 with ``Retry-After: <value>``; ``retry-details-nan``: 429 with
  ``details.retry_after: NaN`` in the body.
- ``trickle``: 200, chunked, one byte every 0.2 s, never ending.
- ``silent``: accepts, reads the request, never answers.
- ``deep``: 100,000 ``[``. ``rows-<n>``: a valid page of n tasks whatever the limit.
- ``gzip-bomb``: 512 MB of zeros, gzip-compressed (~500 KB on the wire).
- ``redirect``: 302 to elsewhere (echoing the key in Location) with a valid task list as its body.
- ``html``, ``garbage``, ``empty``: 200 with such a body. ``reset``: headers, part of the body, then a TCP reset.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

TASK_ID = "7c4a1f0e-0000-4000-8000-00000000cafe"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]

    @property
    def auth(self) -> str:
        return self.headers.get("authorization", "")


@dataclass
class FakeUpstream:
    url: str
    requests: list[Request] = field(default_factory=list)

    def base(self, mode: str) -> str:
        return f"{self.url}/m/{mode}"


def _head(status: int, headers: dict[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _task(task_id: str, text: str = "", status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "task_id": task_id,
        "task_type": "api_buckets_batches_process",
        "status": status,
        **({"error": text, "additional_data": {"batch_id": text, "bucket_id": text}} if text else {}),
    }


def _page(rows: int) -> dict[str, Any]:
    return {"results": [_task(f"task_{i:06d}") for i in range(rows)], "pagination": {"total": rows}}


def _echo_body(status: int, request: Request) -> dict[str, Any]:
    said = f"you sent {request.auth}"
    if status == 200:
        if request.method == "GET":
            return {**_task(TASK_ID, said, "FAILED"), "echo": said}
        return {"results": [_task(f"task_{said}", said, "FAILED")], "pagination": {"total": 1}, "echo": said}
    return {
        "success": False,
        "status": status,
        "error": {
            "message": said,
            "type": said,
            "code": said,
            "details": {
                "validation_errors": [{"loc": ["body", said], "msg": said, "type": said}],
                "retryable": False,
                said: said,
            },
            said: said,
        },
        said: said,
    }


def _envelope(status: int, message: str = "upstream says no", **details: Any) -> dict[str, Any]:
    return {"success": False, "status": status, "error": {"message": message, "type": "Fault", "details": details}}


@cache
def _gzip_bomb() -> bytes:
    """512 MB of zeros as one gzip member, compressed piecewise so making it costs no memory."""
    size = 512 * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(size // len(zeros))]
    parts.append(compressor.flush())
    return b"".join(parts)


async def _respond(request: Request, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    json_type = {"Content-Type": "application/json"}

    def send(status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        writer.write(_head(status, headers if headers is not None else json_type, len(body)) + body)

    if mode.startswith("echo-"):
        status = int(mode.removeprefix("echo-"))
        body = json.dumps(_echo_body(status, request)).encode()
        send(status, body, {"Content-Type": f"application/json; echo={request.auth}"})
    elif mode.startswith("status-"):
        status = int(mode.removeprefix("status-"))
        send(status, json.dumps(_envelope(status)).encode())
    elif mode.startswith("retry-after-"):
        headers = {**json_type, "Retry-After": mode.removeprefix("retry-after-")}
        send(429, json.dumps(_envelope(429, "slow down")).encode(), headers)
    elif mode == "retry-details-nan":
        send(429, b'{"error": {"message": "slow down", "type": "RateLimit", "details": {"retry_after": NaN}}}')
    elif mode == "trickle":
        writer.write(_head(200, {**json_type, "Transfer-Encoding": "chunked"}, None))
        for _ in range(600):
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.2)
    elif mode == "silent":
        await reader.read()  # until the client gives up
    elif mode == "deep":
        send(200, b"[" * 100_000)
    elif mode.startswith("rows-"):
        send(200, json.dumps(_page(int(mode.removeprefix("rows-")))).encode())
    elif mode == "gzip-bomb":
        send(200, _gzip_bomb(), {**json_type, "Content-Encoding": "gzip"})
    elif mode == "redirect":
        send(302, json.dumps(_page(3)).encode(), {**json_type, "Location": f"http://127.0.0.1:9/x?k={request.auth}"})
    elif mode == "html":
        send(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", {"Content-Type": "text/html"})
    elif mode == "garbage":
        send(200, bytes(range(256)) * 4, {"Content-Type": "application/octet-stream"})
    elif mode == "empty":
        send(200, b"")
    elif mode == "reset":
        writer.write(_head(200, json_type, 10_000) + b'{"results": [')
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return
    else:
        send(500, json.dumps(_envelope(500, f"fake upstream has no mode {mode!r}")).encode())
    await writer.drain()


def _serve(upstream: FakeUpstream) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if int(headers.get("content-length", "0")):
                await reader.readexactly(int(headers["content-length"]))
            _, _, mode, rest = target.split("/", 3)
            request = Request(method, "/" + rest, headers)
            upstream.requests.append(request)
            await _respond(request, mode, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    return handle


@contextmanager
def running_fake_upstream() -> Iterator[FakeUpstream]:
    """Serve from a daemon thread with its own event loop until the ``with`` block ends."""
    _gzip_bomb()  # made once, before any test's clock starts
    loop = asyncio.new_event_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    upstream = FakeUpstream(f"http://127.0.0.1:{sock.getsockname()[1]}")
    started = threading.Event()
    servers: list[asyncio.Server] = []

    def run() -> None:  # the server is made in its own thread: the caller may be inside an event loop
        asyncio.set_event_loop(loop)
        servers.append(loop.run_until_complete(asyncio.start_server(_serve(upstream), sock=sock)))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake upstream did not start")
    (server,) = servers
    try:
        yield upstream
    finally:

        def stop() -> None:
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_later(0.1, loop.stop)

        loop.call_soon_threadsafe(stop)
        thread.join(timeout=5)
