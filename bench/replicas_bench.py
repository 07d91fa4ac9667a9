"""One replica and three, each without and with a shared Redis, side by side in one run (issue 19).

- **Polls**: N waiters (60, 300, 1,000) on one task, and N waiters on N tasks, spread round-robin over the
  replicas (many concurrent calls per session, 20 waiters a session, so 1,000 waiters are 50 sessions); the task
  completes ``FINISH_AFTER`` s after the waits start. Upstream requests per poll step = the API requests for
  the scenario's tasks / the steps of one task's schedule, which is what one replica sends for 60 waiters on one
  task (one request a step; the same backoff runs in every scenario).
- **Budget**: every configuration at once, each with its own API key (the sandbox logs a key fingerprint)
  and its own Redis prefix, at 30 requests/min, bursts of 5, three `list_tasks` loops per replica for
  ``BUDGET_SECONDS``: requests the sandbox received per configuration, against what one replica allows.
- **Latency**: one replica without and one with Redis (budget 60,000/min, so a token is always there but the
  grant is still asked of Redis), ``list_tasks`` calls alternating between the two, paired differences.

Redis is Debian's redis-server on a free loopback port, no persistence. Bounded: each scenario has a
``SCENARIO_TIMEOUT``; the bench never waits on a stuck one.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio
import httpx2
from common import Figure, Section, bench_env, child, summary_ms
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sandbox_log import LogCollector, task_ids_asked

FINISH_AFTER = 10.0
WAIT_TIMEOUT = 40
SCENARIO_TIMEOUT = 120.0
WAITERS_PER_SESSION = 20
BUDGET_SECONDS = 40.0
BUDGET_RPM = 30
"""MIXPEEK_MAX_REQUESTS_PER_MINUTE of the budget run: a ceiling under the sandbox's advertised 600/min. Once the
headers are learned the key may send 30 in any 60 s window, so a run shorter than the window may send 30."""
LATENCY_PAIRS = 300
GRANTS = 1000
CONFIGS = [
    ("1 replica", 1, False),
    ("3 replicas", 3, False),
    ("1 replica + Redis", 1, True),
    ("3 replicas + Redis", 3, True),
]
KEYS = [f"sk_bench_replicas_{index}_5f2e" for index in range(len(CONFIGS))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


@contextmanager
def sandbox(keys: list[str]) -> Iterator[str]:
    import re

    args = [sys.executable, "-m", "mixpeek_tasks_mcp", "sandbox", "--host", "127.0.0.1", "--port", "0"]
    for key in keys:
        args += ["--api-key", key]
    args += ["--tasks", "50", "--no-simulate"]
    with child(args, re.compile(r"sandbox on (http://127\.0\.0\.1:\d+)"), bench_env()) as running:
        assert running.match is not None
        yield running.match.group(1)


@contextmanager
def replicas(api_base: str, count: int, key: str, **env: str) -> Iterator[list[str]]:
    import re

    listening = re.compile(r"listening on (http://127\.0\.0\.1:\d+)(/[a-z]+)")
    args = [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", "--transport", "streamable-http"]
    args += ["--host", "127.0.0.1", "--port", "0"]
    with ExitStack() as stack:
        urls = []
        for _ in range(count):
            running = stack.enter_context(
                child(args, listening, bench_env(MIXPEEK_API_BASE=api_base, MIXPEEK_API_KEY=key, **env))
            )
            assert running.match is not None
            urls.append(running.match.group(1) + running.match.group(2))
        yield urls


@contextlib.asynccontextmanager
async def session(url: str) -> Any:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, read=180.0), trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as opened,
    ):
        await opened.initialize()
        yield opened


async def polls_scenario(api_base: str, urls: list[str], waiters: int, distinct: bool) -> dict[str, Any]:
    admin = httpx2.AsyncClient(base_url=api_base, timeout=30, trust_env=False)
    log = LogCollector(admin)
    count = waiters if distinct else 1
    script = [{"after_seconds": 0.1, "status": "IN_PROGRESS"}, {"after_seconds": FINISH_AFTER, "status": "COMPLETED"}]
    polls: list[int] = []
    errors = 0
    ids: list[str] = []
    stop = anyio.Event()

    async def one_session(index: int, mine: list[str]) -> None:
        nonlocal errors
        try:
            await _session_waits(index, mine)
        except Exception:
            errors += len(mine)

    async def _session_waits(index: int, mine: list[str]) -> None:
        nonlocal errors
        async with session(urls[index % len(urls)]) as opened:

            async def wait(task_id: str) -> None:
                nonlocal errors
                try:
                    arguments = {"task_id": task_id, "timeout_seconds": WAIT_TIMEOUT}
                    result = await opened.call_tool("wait_for_task", arguments)
                except Exception:  # counted: one failing call must not hide the others
                    errors += 1
                    return
                if result.is_error:
                    errors += 1
                else:
                    polls.append(int((result.structured_content or {}).get("polls") or 0))

            async with anyio.create_task_group() as calls:
                for task_id in mine:
                    calls.start_soon(wait, task_id)

    with anyio.move_on_after(SCENARIO_TIMEOUT) as scope:
        created = await admin.post(
            "/_sandbox/tasks",
            json={"tasks": [{"task_type": "thumbnail", "status": "PENDING", "script": script}] * count},
        )
        created.raise_for_status()
        ids = [str(row["task_id"]) for row in created.json()["tasks"]]
        await log.clear()
        async with anyio.create_task_group() as group:
            group.start_soon(log.run, stop)
            sessions = max(1, waiters // WAITERS_PER_SESSION)
            plan = [[ids[w % count] for w in range(waiters) if w % sessions == s] for s in range(sessions)]
            async with anyio.create_task_group() as waits:
                for index, mine in enumerate(plan):
                    waits.start_soon(one_session, index, mine)
            stop.set()
    await admin.aclose()
    wanted = set(ids)
    requests = [entry for entry in log.polls() if wanted & set(task_ids_asked(entry))]
    steps = statistics.median(polls) if polls else 0
    return {
        "waiters": waiters,
        "distinct": distinct,
        "requests": len(requests),
        "median_polls_per_wait": steps,
        "requests_per_step": round(len(requests) / steps, 2) if steps else None,
        "answered": len(polls),
        "errors": errors + (waiters - len(polls) if scope.cancelled_caught else 0),
        "timed_out": scope.cancelled_caught,
    }


async def budget_scenario(api_base: str, groups: list[tuple[str, list[str]]]) -> dict[str, int]:
    """Every configuration's replicas loop on list_tasks at once for BUDGET_SECONDS; requests per key."""
    admin = httpx2.AsyncClient(base_url=api_base, timeout=30, trust_env=False)
    log = LogCollector(admin)
    await log.clear()
    stop = anyio.Event()

    async def loop(url: str) -> None:
        async with session(url) as opened:
            while True:
                await opened.call_tool("list_tasks", {"limit": 1})

    async with anyio.create_task_group() as group:
        group.start_soon(log.run, stop)
        for _, urls in groups:
            for url in urls:
                for _ in range(3):
                    group.start_soon(loop, url)
        await anyio.sleep(BUDGET_SECONDS)
        stop.set()
        await log.collect()
        group.cancel_scope.cancel()
    await admin.aclose()
    counts: dict[str, int] = {}
    for (name, _), key in zip(groups, KEYS, strict=False):
        fingerprint = hashlib.sha256(key.encode()).hexdigest()[:12]
        counts[name] = sum(1 for entry in log.entries.values() if entry.get("key_fingerprint") == fingerprint)
    return counts


async def latency_scenario(plain: str, shared: str) -> dict[str, Any]:
    async with session(plain) as a, session(shared) as b:
        for opened in (a, b):  # warm both (connections, first imports)
            await opened.call_tool("list_tasks", {"limit": 5})
        diffs, times_a, times_b = [], [], []
        for _ in range(LATENCY_PAIRS):
            order = [(a, times_a), (b, times_b)]
            random.shuffle(order)
            for opened, times in order:
                started = time.perf_counter()
                await opened.call_tool("list_tasks", {"limit": 5})
                times.append(time.perf_counter() - started)
            diffs.append(times_b[-1] - times_a[-1])
    return {"without": summary_ms(times_a), "with_redis": summary_ms(times_b), "added_ms": summary_ms(diffs)}


def _redis_env(url: str, prefix: str) -> dict[str, str]:
    return {"MIXPEEK_REDIS_URL": url, "MIXPEEK_REDIS_PREFIX": prefix}


async def grant_cost(redis_url: str) -> dict[str, Any]:
    """One shared grant (the Lua token bucket through the link) in this process, without MCP around it."""
    sys.path.insert(0, str(__import__("common").REPO))
    from mixpeek_tasks_mcp.shared.limiter import SharedLimiter
    from mixpeek_tasks_mcp.shared.link import RedisLink

    link = RedisLink(redis_url, password=None, timeout=0.5, prefix="grant-cost:")
    await link.ping()
    limiter, times = SharedLimiter(link), []
    for _ in range(GRANTS):
        started = time.perf_counter()
        await limiter.admit("bench", limit=600_000, window=60.0)  # the sliding-window log the budget asks
        times.append(time.perf_counter() - started)
    await link.aclose()
    return summary_ms(times)


def run(sizes: tuple[int, ...] = (60, 300, 1000)) -> Section:
    section = Section("replicas")
    with redis_server() as redis_url, sandbox(KEYS) as api_base:
        # no ceiling of the server's own (the sandbox's advertised 600/min still rules), and room for 1,000
        # concurrent waits plus each session's stream (the default cap of 1,000 connections would refuse some)
        no_budget = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "0", "MIXPEEK_HTTP_MAX_CONNECTIONS": "5000"}
        results: list[dict[str, Any]] = []
        for index, (name, count, with_redis) in enumerate(CONFIGS):
            extra = _redis_env(redis_url, f"polls{index}:") if with_redis else {}
            with replicas(api_base, count, KEYS[index], **no_budget, **extra) as urls:
                for distinct in (False, True):
                    for waiters in sizes:
                        print(f"[replicas] polls: {name}, {waiters} waiters, distinct={distinct}", file=sys.stderr)
                        result = anyio.run(polls_scenario, api_base, urls, waiters, distinct)
                        results.append({"config": name, **result})
        section.data["polls"] = results
        budget = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": str(BUDGET_RPM)}
        with ExitStack() as stack:
            groups = []
            for index, (name, count, with_redis) in enumerate(CONFIGS):
                extra = (
                    {"MIXPEEK_REDIS_URL": redis_url, "MIXPEEK_REDIS_PREFIX": f"budget{index}:"} if with_redis else {}
                )
                groups.append((name, stack.enter_context(replicas(api_base, count, KEYS[index], **budget, **extra))))
            print("[replicas] budget", file=sys.stderr)
            counts = anyio.run(budget_scenario, api_base, groups)
        allowed = float(BUDGET_RPM)  # BUDGET_SECONDS < 60: one window
        section.data["budget"] = {"seconds": BUDGET_SECONDS, "allowed_one_replica": allowed, "requests": counts}
        fast = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "60000", "MIXPEEK_REQUEST_BURST": "1000"}
        with (
            replicas(api_base, 1, KEYS[0], **fast) as plain,
            replicas(api_base, 1, KEYS[2], **fast, MIXPEEK_REDIS_URL=redis_url, MIXPEEK_REDIS_PREFIX="lat:") as shared,
        ):
            print("[replicas] latency", file=sys.stderr)
            latency = anyio.run(latency_scenario, plain[0], shared[0])
        section.data["latency"] = latency
        section.data["grant"] = anyio.run(grant_cost, redis_url)
    steps = next(r["requests"] for r in results if r["config"] == "1 replica" and not r["distinct"]) or 1
    section.data["steps_per_schedule"] = steps
    for result in results:
        shared = "Redis" in result["config"]
        kind = "on one task" if not result["distinct"] else "on their own tasks"
        per_step = round(result["requests"] / steps, 1)
        result["requests_per_step"] = per_step
        if result["config"].startswith("3"):
            section.figures.append(
                Figure(
                    f"{result['config']}: {result['waiters']} waiters {kind}, requests per poll step",
                    "≈ 1 (one replica's)" if shared and not result["distinct"] else "",
                    f"{per_step} ({result['requests']} requests, {result['errors']} failed calls)",
                    per_step <= 1.5 if shared and not result["distinct"] else None,
                )
            )
    for name, sent in counts.items():
        shared = "Redis" in name or name == "1 replica"
        section.figures.append(
            Figure(
                f"budget {BUDGET_RPM}/min, {BUDGET_SECONDS:.0f} s (one window): {name}",
                f"≤ {allowed:.0f} (one replica's)" if shared else "(control)",
                f"{sent} requests",
                sent <= allowed if shared else None,
            )
        )
    added = latency["added_ms"]
    section.figures.append(
        Figure(
            "latency Redis adds to list_tasks (paired, median / p95)",
            "< 5 ms",
            f"{added['median']:.2f} / {added['p95']:.2f} ms",
            added["median"] < 5,
        )
    )
    grant = section.data["grant"]
    section.figures.append(
        Figure(
            "one shared grant (Lua, through the link), in process", "", f"{grant['median']:.2f} / {grant['p95']:.2f} ms"
        )
    )
    return section


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = run(sizes=(60,) if quick else (60, 300, 1000))
    import json

    print(json.dumps(result.to_json(), indent=1))
