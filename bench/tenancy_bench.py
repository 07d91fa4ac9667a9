"""One HTTP server, many users (issue 18): per-session memory against a bare SDK server, 1,000 sessions' RSS, and
how long a vanished client's subscriptions keep polling Mixpeek.

    python bench/tenancy_bench.py            # prints the figures (docs/benchmarks.md, "One server, many users")

- memory per idle session, before and after ``tools/list``: tracemalloc, in process, 50 sessions opened over
  Streamable HTTP (raw initialize + initialized [+ tools/list]), against bench/bare_server.py's one-tool server;
- RSS of the real CLI server (a subprocess) before and after 1,000 sessions that listed their tools;
- from the moment a legacy client that subscribed to 10 tasks drops its GET stream (no DELETE) to the last
  upstream request for those tasks (the sandbox's request log), with the default settings.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixpeek_tasks_mcp.http.app import make_uvicorn_server
from mixpeek_tasks_mcp.sandbox import SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.settings import Settings

KEY = "sk_bench_tenancy_0123456789"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}},
}
SESSIONS_TRACED = 50


def open_session(http: httpx2.Client, url: str, *, list_tools: bool, headers: dict[str, str] | None = None) -> str:
    base = {**HEADERS, **(headers or {})}
    session_id = http.post(url, json=INITIALIZE, headers=base).headers["mcp-session-id"]
    inside = {**base, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-06-18"}
    http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=inside)
    if list_tools:
        http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=inside)
    return session_id


@contextmanager
def serving(server: uvicorn.Server, port_of: Any) -> Iterator[str]:
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while port_of() is None:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port_of()}/mcp"
    finally:
        server.should_exit = True
        thread.join(20)


def ours() -> uvicorn.Server:
    settings = Settings(transport="streamable-http", port=0, api_key=KEY, api_base="http://127.0.0.1:9")
    server = make_uvicorn_server(settings)
    server.port_of = lambda: server.bound_port  # type: ignore[attr-defined]
    return server


def bare() -> uvicorn.Server:
    from mcp.server.mcpserver import MCPServer

    app = MCPServer(name="bare")

    @app.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    config = uvicorn.Config(app.streamable_http_app(), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def port_of() -> int | None:
        if not server.started or not server.servers:
            return None
        return int(server.servers[0].sockets[0].getsockname()[1])

    server.port_of = port_of  # type: ignore[attr-defined]
    return server


def traced_kb_per_session(make: Any, *, list_tools: bool) -> float:
    """Memory still held per session (KB) once SESSIONS_TRACED idle sessions are open, by tracemalloc."""
    server = make()
    with serving(server, server.port_of) as url, httpx2.Client(timeout=30) as http:
        for _ in range(5):  # warm up: first-use caches are not per-session memory
            open_session(http, url, list_tools=True)
        time.sleep(0.3)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(SESSIONS_TRACED):
            open_session(http, url, list_tools=list_tools)
        time.sleep(0.5)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / SESSIONS_TRACED / 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def thousand_sessions_rss() -> tuple[float, float]:
    """RSS (MB) of the CLI server before and after 1,000 sessions that listed their tools."""
    from tests.processes import clean_env
    from tests.processes import serving as serve_process

    argv = [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", "streamable-http", "--port", "0"]
    env = clean_env(MIXPEEK_API_KEY=KEY, MIXPEEK_API_BASE="http://127.0.0.1:9")
    with serve_process(argv, env) as server, httpx2.Client(timeout=30) as http:
        open_session(http, server.url, list_tools=True)
        before = rss_kb(server.process.pid)
        for _ in range(1_000):
            open_session(http, server.url, list_tools=True)
        time.sleep(1)
        after = rss_kb(server.process.pid)
    return before / 1024, after / 1024


def vanished_client_polling() -> tuple[float, float, int]:
    """Seconds from a subscribed client's disappearance to its session's end and to the last upstream request
    for its tasks, and how many requests were made for them meanwhile."""
    config = SandboxConfig(port=0, api_keys=[KEY], tasks=0, simulate=False)
    with running_sandbox(config) as sandbox:
        ids = [task["task_id"] for task in sandbox.create_tasks([{"status": "PENDING"} for _ in range(10)])]
        settings = Settings(transport="streamable-http", port=0, api_key=KEY, api_base=sandbox.base_url)
        server = make_uvicorn_server(settings)
        with serving(server, lambda: server.bound_port) as url, httpx2.Client(timeout=30) as http:
            session_id = open_session(http, url, list_tools=False)
            inside = {**HEADERS, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-06-18"}
            for number, task_id in enumerate(ids):
                subscribe = {
                    "jsonrpc": "2.0",
                    "id": 10 + number,
                    "method": "resources/subscribe",
                    "params": {"uri": f"mixpeek://tasks/{task_id}"},
                }
                http.post(url, json=subscribe, headers=inside)
            stream_headers = {k: v for k, v in inside.items() if k != "Content-Type"} | {"Accept": "text/event-stream"}
            with httpx2.Client(timeout=30) as gone, gone.stream("GET", url, headers=stream_headers):
                time.sleep(2)
            vanished = time.monotonic()  # the GET stream's connection is closed; no DELETE
            vanished_wall = time.time()
            ended = float("nan")
            for _ in range(900):
                time.sleep(0.1)
                if server.config.app.state.sessions.open == 0:
                    ended = time.monotonic() - vanished
                    break
            time.sleep(35)  # longer than the longest backoff: any poll still scheduled would have gone out
            last = 0.0
            count = 0
            for entry in sandbox.requests():
                stamp = _wall(entry["time"])
                if stamp >= vanished_wall and any(
                    task_id in entry["path"] or task_id in str(entry.get("body")) for task_id in ids
                ):
                    last, count = max(last, stamp), count + 1
                    if "--verbose" in sys.argv:
                        print(f"  +{stamp - vanished_wall:.1f} s {entry['method']} {entry['path'][:50]}")  # stdout-ok
    return (ended, max(last - vanished_wall, 0.0), count)


def _wall(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> int:
    for name, make in (("mixpeek-tasks-mcp", ours), ("bare SDK server (1 tool)", bare)):
        idle = traced_kb_per_session(make, list_tools=False)
        listed = traced_kb_per_session(make, list_tools=True)
        print(f"{name}: {idle:.0f} KB per idle session, {listed:.0f} KB after tools/list")  # stdout-ok
    before, after = thousand_sessions_rss()
    each = (after - before) / 1000 * 1024
    print(f"RSS: {before:.0f} MB with one session, {after:.0f} MB with 1,001 ({each:.0f} KB each)")  # stdout-ok
    ended, seconds, polls = vanished_client_polling()
    print(  # stdout-ok
        f"vanished client (10 subscriptions): session ended {ended:.1f} s after it went, last upstream request "
        f"{seconds:.1f} s after, {polls} requests"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
