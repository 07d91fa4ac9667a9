"""Start and stop a sandbox: in a background thread for tests, or in the foreground for the CLI.

Logs go to stderr only: the sandbox may share a process with the MCP stdio server, whose stdout is
the protocol.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import uvicorn
from pydantic import BaseModel, ConfigDict, Field

from .app import build_app
from .faults import FaultState
from .generator import generate_tasks, load_data_file
from .ratelimit import DEFAULT_RPM, DEFAULT_WINDOW, KeyLimits, RateLimitSpec
from .requestlog import RequestLog, key_fingerprint
from .simulator import LiveSimulator, Timeline
from .state import SandboxState
from .store import TaskStore

log = logging.getLogger("mixpeek_tasks_mcp.sandbox")
DEMO_API_KEY = "sk_sandbox_demo"


class SandboxConfig(BaseModel):
    """How to run a sandbox. ``port=0`` picks a free port; the first of ``api_keys`` is the primary."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    api_keys: list[str] = Field(default_factory=lambda: [DEMO_API_KEY], min_length=1)
    db_path: str | None = None
    tasks: int = Field(default=500, ge=0, description="Tasks generated at start when the DB is empty.")
    data_file: str | None = Field(default=None, description="JSON tasks loaded at start (instead of generating).")
    seed: int = 7
    simulate: bool = True
    speed: float = Field(default=1.0, gt=0)
    rate_limit_rpm: int | None = Field(
        default=DEFAULT_RPM,
        ge=1,
        description="Requests each API key may make per window (a moving window, like Mixpeek's per-key "
        "limits); None = no limit. Default: Mixpeek's Pro tier, 600/min.",
    )
    rate_limit_window: float = Field(default=DEFAULT_WINDOW, gt=0, le=3600, description="The window, seconds.")
    rate_limit_headers: bool = Field(
        default=True, description="Advertise the limit in X-RateLimit-* headers (False: only 429s tell)."
    )
    live_tasks: int = Field(default=5, ge=0, description="Active tasks the simulator keeps moving.")
    timestamps: bool = Field(
        default=True,
        description="Add created_at/updated_at (ISO-8601 UTC) to every task the /v1 API returns. Mixpeek's "
        "TaskResponse does not document them; False serves tasks without them.",
    )


def build_state(config: SandboxConfig) -> SandboxState:
    """Open the store, fill it if needed, and wire the timeline, faults, log and simulator (not started)."""
    store = TaskStore(config.db_path)
    if config.data_file:
        loaded = store.insert_many(load_data_file(config.data_file))
        log.info("sandbox loaded %d tasks from %s", loaded, config.data_file)
    elif store.count() == 0 and config.tasks:
        store.insert_many(generate_tasks(config.tasks, config.seed))
        log.info("sandbox generated %d tasks (seed %d)", config.tasks, config.seed)
    timeline = Timeline(store)
    simulator = (
        LiveSimulator(store, timeline, seed=config.seed, speed=config.speed, live_tasks=config.live_tasks)
        if config.simulate
        else None
    )
    return SandboxState(
        store=store,
        timeline=timeline,
        faults=FaultState(),
        limits=KeyLimits(
            RateLimitSpec(rpm=config.rate_limit_rpm, window=config.rate_limit_window, headers=config.rate_limit_headers)
        ),
        requests=RequestLog(),
        api_keys=list(config.api_keys),
        simulator=simulator,
        rng=random.Random(config.seed + 2),
        timestamps=config.timestamps,
    )


def _start_background(state: SandboxState) -> None:
    state.timeline.start()
    if state.simulator is not None:
        state.simulator.start()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _server(state: SandboxState) -> uvicorn.Server:
    config = uvicorn.Config(
        build_app(state),
        log_level="warning",
        access_log=False,
        log_config=None,
        lifespan="off",
        server_header=False,
    )
    return uvicorn.Server(config)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class RunningSandbox:
    """A started sandbox: its URL and key, plus helpers that drive the admin endpoints over HTTP."""

    def __init__(self, base_url: str, api_keys: list[str], state: SandboxState) -> None:
        self.base_url = base_url
        self.api_key = api_keys[0]
        self.api_keys = list(api_keys)
        self.state = state
        self._admin = httpx2.Client(base_url=base_url, timeout=30.0, trust_env=False)

    def close(self) -> None:
        self._admin.close()

    def _call(self, method: str, path: str, json_body: Any = None) -> Any:
        response = self._admin.request(method, path, json=json_body)
        response.raise_for_status()
        return response.json()

    def create_task(self, **fields: Any) -> dict[str, Any]:
        """Create a task (see ``POST /_sandbox/tasks``); returns it with created_at/updated_at."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/tasks", fields)
        return result

    def create_tasks(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("POST", "/_sandbox/tasks", {"tasks": tasks})["tasks"]
        return result

    def get_task(self, task_id: str) -> dict[str, Any]:
        """The stored task with created_at/updated_at (admin view, no auth)."""
        from urllib.parse import quote

        result: dict[str, Any] = self._call("GET", f"/_sandbox/tasks/{quote(task_id, safe='')}")
        return result

    def create_batch(self, **spec: Any) -> dict[str, Any]:
        """Make a batch to order (see ``batch_routes.make_batch``); returns its BatchModel view."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/batches", spec)
        return result

    def clear_tasks(self) -> int:
        return int(self._call("DELETE", "/_sandbox/tasks")["deleted"])

    def transition(self, task_id: str, status: str, error: str | None = None, **fields: Any) -> dict[str, Any]:
        from urllib.parse import quote

        body: dict[str, Any] = {**fields, "status": status}
        if error is not None:
            body["error"] = error
        result: dict[str, Any] = self._call("POST", f"/_sandbox/tasks/{quote(task_id, safe='')}/transition", body)
        return result

    def set_faults(self, **spec: Any) -> dict[str, Any]:
        """Merge faults, e.g. ``set_faults(force_status={"status": 503, "count": 2})``."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/faults", spec)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def set_rate_limit(self, rpm: int | None, window: float = DEFAULT_WINDOW, headers: bool = True) -> None:
        """Every key's limit from now on (counts start afresh); ``rpm=None`` lifts it."""
        self._call("POST", "/_sandbox/rate-limit", {"rpm": rpm, "window": window, "headers": headers})

    def rate_limit(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_sandbox/rate-limit")
        return result

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/_sandbox/requests")["requests"]
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sandbox/requests")


def _wait_until_up(server: uvicorn.Server, thread: threading.Thread, host: str, port: int) -> None:
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("sandbox server exited during startup (see stderr)")
        if time.monotonic() > deadline:
            raise RuntimeError("sandbox server did not start within 15 s")
        time.sleep(0.01)
    with socket.create_connection((host, port), timeout=5):
        pass


@contextmanager
def running_sandbox(config: SandboxConfig) -> Iterator[RunningSandbox]:
    """Serve a sandbox from a daemon thread until the ``with`` block ends."""
    state = build_state(config)
    sock = _bind(config.host, config.port)
    port = int(sock.getsockname()[1])
    server = _server(state)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox-http", daemon=True)
    _start_background(state)
    thread.start()
    sandbox: RunningSandbox | None = None
    try:
        _wait_until_up(server, thread, config.host, port)
        sandbox = RunningSandbox(_url(config.host, port), config.api_keys, state)
        yield sandbox
    finally:
        if sandbox is not None:
            sandbox.close()
        server.should_exit = True
        thread.join(timeout=10)
        state.timeline.stop()
        sock.close()
        state.store.close()


def _describe_key(key: str) -> str:
    return key if key == DEMO_API_KEY else f"<configured key, sha256 {key_fingerprint(key)}...>"


def serve_forever(config: SandboxConfig) -> None:
    """Serve in the foreground until Ctrl-C (for the CLI). Logs to stderr."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    state = build_state(config)
    sock = _bind(config.host, config.port)
    port = int(sock.getsockname()[1])
    _start_background(state)
    log.info(
        "Mixpeek tasks sandbox on %s (API key: %s; %d tasks; simulate=%s)",
        _url(config.host, port),
        _describe_key(config.api_keys[0]),
        state.store.count(),
        config.simulate,
    )
    try:
        _server(state).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        state.timeline.stop()
        sock.close()
        state.store.close()
        log.info("sandbox stopped")


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's command-line flags (see :func:`config_from_args`)."""
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8765, help="Port (0 = any free port; default 8765).")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_key",
        default=None,
        help=f"Accepted API key (repeatable; first is primary). Default: $MIXPEEK_API_KEY, else {DEMO_API_KEY}.",
    )
    parser.add_argument("--db", default=None, help="SQLite file to keep tasks in (default: in memory).")
    parser.add_argument("--tasks", type=int, default=500, help="Tasks to generate when the DB is empty.")
    parser.add_argument("--data", default=None, help="JSON file of tasks to load instead of generating.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the generator and simulator.")
    parser.add_argument("--no-simulate", action="store_true", help="Do not move live tasks along.")
    parser.add_argument("--speed", type=float, default=1.0, help="Simulator speed factor (2 = twice as fast).")
    parser.add_argument("--live-tasks", type=int, default=5, help="Active tasks the simulator keeps moving.")
    parser.add_argument(
        "--rate-limit-rpm",
        type=int,
        default=DEFAULT_RPM,
        help=f"Requests each API key may make per window, advertised in X-RateLimit-* headers and enforced "
        f"with 429 + Retry-After (default {DEFAULT_RPM}, Mixpeek's Pro tier; 0 = no limit).",
    )
    parser.add_argument(
        "--rate-limit-window", type=float, default=DEFAULT_WINDOW, help="The rate-limit window, seconds (60)."
    )
    parser.add_argument(
        "--no-rate-limit-headers",
        action="store_true",
        help="Enforce the limit without X-RateLimit-* headers (only 429s tell a client).",
    )
    parser.add_argument(
        "--no-timestamps",
        action="store_true",
        help="Serve tasks without created_at/updated_at (which Mixpeek does not document; default: with them).",
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    keys = list(getattr(args, "api_key", None) or [])
    if not keys:
        keys = [os.environ.get("MIXPEEK_API_KEY") or DEMO_API_KEY]
    return SandboxConfig(
        host=args.host,
        port=args.port,
        api_keys=keys,
        db_path=args.db,
        tasks=args.tasks,
        data_file=args.data,
        seed=args.seed,
        simulate=not args.no_simulate,
        speed=args.speed,
        rate_limit_rpm=args.rate_limit_rpm or None,
        rate_limit_window=getattr(args, "rate_limit_window", DEFAULT_WINDOW),
        rate_limit_headers=not getattr(args, "no_rate_limit_headers", False),
        live_tasks=getattr(args, "live_tasks", 5),
        timestamps=not getattr(args, "no_timestamps", False),
    )
