"""A real Redis (Debian's redis-server, or valkey-server) on a free loopback port, for tests of shared state.

No persistence (``--save ''``, no AOF), bound to 127.0.0.1, killed when the test is done. ``kill()`` and
``start()`` let a test take it away mid-run and bring it back on the same port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_binary() -> str | None:
    """``MIXPEEK_TEST_REDIS_SERVER`` (e.g. /usr/bin/valkey-server), else redis-server, else valkey-server."""
    chosen = os.environ.get("MIXPEEK_TEST_REDIS_SERVER")
    return chosen or shutil.which("redis-server") or shutil.which("valkey-server")


class RedisServer:
    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--daemonize", "no", "--logfile", ""]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.binary} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"{self.binary} did not answer on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def command(self, *parts: str) -> bytes:
        """One raw RESP command (tests look at keys without a client library)."""
        payload = f"*{len(parts)}\r\n".encode() + b"".join(
            f"${len(part.encode())}\r\n".encode() + part.encode() + b"\r\n" for part in parts
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(payload)
            time.sleep(0.05)
            return conn.recv(1 << 20)


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    binary = server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it from Debian's packages)")
    server = RedisServer(binary, free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
