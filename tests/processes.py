"""The real CLI serving HTTP in a child process, for tests that talk to it over the network."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on (http://[^/\s]+?:(\d+))(/[a-z]+)")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any MIXPEEK_* (nothing leaks into a server), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A ``mixpeek-tasks-mcp serve`` child and what it wrote to stderr (it logs the address it bound)."""

    process: subprocess.Popen[str]
    base_url: str = ""
    port: int = 0
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
                self.base_url, self.port, self.path = match.group(1), int(match.group(2)), match.group(3)
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


@contextmanager
def serving(argv: Sequence[str], env: Mapping[str, str]) -> Iterator[ServerProcess]:
    """Run ``argv`` (an HTTP server on port 0) until it reports its address; stop it afterwards."""
    process = subprocess.Popen(
        list(argv),
        cwd=REPO,
        env=dict(env),
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
