"""Shared bench helpers: statistics, the figure rows every bench returns, and a sandbox subprocess."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_KEY = "sk_bench_0f3a9c27d1e54b68"
LOOPBACK = "127.0.0.1"
_SANDBOX_LINE = re.compile(r"sandbox on (http://127\.0\.0\.1:\d+)")
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)(/[a-z]+)")


@dataclass
class Figure:
    """One row of the summary: what was measured, the target, and whether it was met (None = no target)."""

    figure: str
    target: str
    measured: str
    met: bool | None = None


@dataclass
class Section:
    """One bench's result: its figures for the table plus every raw number for the JSON file."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "figures": [asdict(f) for f in self.figures], "data": self.data}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, min, max and count of a sample (same unit as the input)."""
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
    }


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """:func:`summary` of seconds, in milliseconds."""
    return {key: ms(value) if key != "n" else value for key, value in summary(values).items()}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def bench_env(**extra: str) -> dict[str, str]:
    """The caller's environment without MIXPEEK_* (so nothing points at a real host), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Child:
    """A child process whose stderr is read in a thread until a line matches ``pattern``."""

    process: subprocess.Popen[str]
    pattern: re.Pattern[str]
    match: re.Match[str] | None = None
    lines: list[str] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)

    def pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = self.pattern.search(line)
            if found and not self._ready.is_set():
                self.match = found
                self._ready.set()

    def wait_ready(self, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"{self.process.args} did not start:\n{''.join(self.lines)[-2000:]}")
        assert self.match is not None
        return self.match

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def child(args: list[str], pattern: re.Pattern[str], env: dict[str, str]) -> Iterator[Child]:
    process = subprocess.Popen(
        args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    running = Child(process, pattern)
    threading.Thread(target=running.pump, daemon=True).start()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@contextmanager
def sandbox_process(tasks: int = 500, seed: int = 7) -> Iterator[str]:
    """The sandbox Tasks API in its own process on a free loopback port (no simulator); yields its base URL."""
    args = [sys.executable, "-m", "mixpeek_tasks_mcp", "sandbox", "--host", LOOPBACK, "--port", "0"]
    args += ["--api-key", BENCH_KEY, "--tasks", str(tasks), "--seed", str(seed), "--no-simulate"]
    with child(args, _SANDBOX_LINE, bench_env()) as running:
        assert running.match is not None
        yield running.match.group(1)


@contextmanager
def http_server_process(api_base: str, **extra_env: str) -> Iterator[tuple[str, int]]:
    """Our server over Streamable HTTP on a free loopback port; yields (MCP URL, pid). ``extra_env``: more
    MIXPEEK_* settings."""
    args = [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", "streamable-http"]
    args += ["--host", LOOPBACK, "--port", "0"]
    env = bench_env(MIXPEEK_API_BASE=api_base, MIXPEEK_API_KEY=BENCH_KEY, **extra_env)
    with child(args, _LISTENING, env) as running:
        assert running.match is not None
        yield running.match.group(1) + running.match.group(2), running.process.pid


def stdio_env(api_base: str) -> dict[str, str]:
    return bench_env(MIXPEEK_API_BASE=api_base, MIXPEEK_API_KEY=BENCH_KEY)
