"""Soak: 10,000 tool calls (list, triage, wait) over Streamable HTTP with faults on 20 % of them.

The server runs in its own process (no request budget), the sandbox in another. Before a faulted call the
driver arms one sandbox fault (a forced 5xx or 429, latency, a malformed body) for the next request(s); with
several clients at once a fault may land on another client's request, so what is reported is the number
armed, the tool errors by cause, latency per tool, and the server's RSS at the start and the end.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from common import Figure, Section, http_server_process, percentile
from concurrency import proc_status
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

CALLS = 10_000
FAULT_SHARE = 0.2
CLIENTS = 16
SEED = 13
TARGET_RSS_GROWTH_MB = 50.0
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("503 once (retried)", {"force_status": {"status": 503, "count": 1}}),
    ("500 twice (retried once, then an error)", {"force_status": {"status": 500, "count": 2}}),
    ("429 with Retry-After 1", {"force_status": {"status": 429, "count": 1, "retry_after": 1}}),
    ("502 x4 (retries exhausted)", {"force_status": {"status": 502, "count": 4}}),
    ("latency 300 ms", {"latency": {"ms": 300, "count": 1}}),
    ("malformed body", {"malformed": {"kind": "truncated_json", "count": 1}}),
    ("HTML body", {"malformed": {"kind": "html", "count": 1}}),
]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)


def cause(text: str) -> str:
    """The cause of a tool error, from its text."""
    lowered = text.lower()
    for needle, name in [
        ("rate limit", "rate limited (429)"),
        ("429", "rate limited (429)"),
        ("not json", "malformed body"),
        ("malformed", "malformed body"),
        ("not valid json", "malformed body"),
        ("unexpected", "malformed body"),
        ("500", "upstream 500"),
        ("502", "upstream 502"),
        ("503", "upstream 503"),
        ("timed out", "timeout"),
        ("could not reach", "unreachable"),
    ]:
        if needle in lowered:
            return name
    return "other: " + " ".join(text.split())[:80]


def _arguments(rng: random.Random, finished_ids: list[str]) -> tuple[str, dict[str, Any]]:
    pick = rng.random()
    if pick < 0.5:
        status = rng.choice([None, "FAILED", "COMPLETED", "PROCESSING"])
        arguments: dict[str, Any] = {"limit": rng.choice([5, 20])}
        if status:
            arguments["status"] = status
        return "list_tasks", arguments
    if pick < 0.7:
        return "triage_tasks", {"max_tasks": 100, "timeout_seconds": 10}
    if pick < 0.9 or len(finished_ids) < 5:
        return "wait_for_task", {"task_id": rng.choice(finished_ids), "timeout_seconds": 2}
    return "wait_for_task", {"task_ids": rng.sample(finished_ids, 5), "timeout_seconds": 2}


async def _worker(url: str, admin: httpx2.AsyncClient, calls: int, seed: int, ids: list[str], tally: Tally) -> None:
    rng = random.Random(seed)
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, read=120.0), trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for _ in range(calls):
            tool, arguments = _arguments(rng, ids)
            if rng.random() < FAULT_SHARE:
                name, spec = rng.choice(FAULTS)
                (await admin.post("/_sandbox/faults", json=spec)).raise_for_status()
                tally.faults[name] += 1
            start = time.perf_counter()
            try:
                result = await session.call_tool(tool, arguments)
            except Exception as error:  # a broken session is a finding, not a crash of the soak
                tally.errors[f"{tool}: exception {type(error).__name__}"] += 1
                continue
            tally.latencies.setdefault(tool, []).append(time.perf_counter() - start)
            tally.calls[tool] += 1
            if result.is_error:
                text = "\n".join(getattr(block, "text", "") for block in result.content)
                tally.errors[f"{tool}: {cause(text)}"] += 1


async def _finished_ids(url: str) -> list[str]:
    async with (
        httpx2.AsyncClient(timeout=60.0, trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.call_tool("list_tasks", {"status": "COMPLETED", "limit": 100})
    return [row["task_id"] for row in (listed.structured_content or {}).get("tasks", [])]


async def run(api_base: str, *, calls: int = CALLS) -> Section:
    tally = Tally()
    env = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "0", "MIXPEEK_RETRY_AFTER_CAP": "2"}
    with http_server_process(api_base, **env) as (url, pid):
        async with httpx2.AsyncClient(base_url=api_base, timeout=60.0, trust_env=False) as admin:
            ids = await _finished_ids(url)
            rss_start = proc_status(pid)
            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for worker in range(CLIENTS):
                    share = calls // CLIENTS + (1 if worker < calls % CLIENTS else 0)
                    group.start_soon(_worker, url, admin, share, SEED + worker, ids, tally)
            wall = time.perf_counter() - started
            (await admin.delete("/_sandbox/faults")).raise_for_status()
            rss_end = proc_status(pid)
    every = [value for values in tally.latencies.values() for value in values]
    data: dict[str, Any] = {
        "calls": sum(tally.calls.values()),
        "clients": CLIENTS,
        "wall_s": round(wall, 1),
        "faults_armed": dict(tally.faults.most_common()),
        "errors_by_cause": dict(tally.errors.most_common()),
        "calls_by_tool": dict(tally.calls),
        "rss_mb": {"start": rss_start["VmRSS"], "end": rss_end["VmRSS"], "peak": rss_end["VmHWM"]},
        "latency_ms": {
            name: {"p50": round(percentile(v, 50) * 1000, 1), "p99": round(percentile(v, 99) * 1000, 1)}
            for name, v in [("all", every), *sorted(tally.latencies.items())]
            if v
        },
    }
    errors = sum(tally.errors.values())
    exceptions = sum(n for name, n in tally.errors.items() if ": exception " in name)
    growth = rss_end["VmRSS"] - rss_start["VmRSS"]
    latency = data["latency_ms"]["all"]
    section = Section("soak", data=data)
    section.figures += [
        Figure(
            f"7. soak: {data['calls']:,} calls, {FAULT_SHARE:.0%} with a fault armed, {CLIENTS} clients",
            "no broken session; RSS growth < 50 MB",
            f"{errors} tool errors ({exceptions} exceptions), RSS {rss_start['VmRSS']:g} → {rss_end['VmRSS']:g} MB, "
            f"p50/p99 {latency['p50']:g}/{latency['p99']:g} ms",
            exceptions == 0 and growth < TARGET_RSS_GROWTH_MB,
        ),
        Figure(
            "7. soak: tool errors by cause",
            "\N{EN DASH}",
            ", ".join(f"{name} {count}" for name, count in tally.errors.most_common(6)) or "none",
        ),
    ]
    return section


if __name__ == "__main__":
    import argparse
    import json

    from common import sandbox_process

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 calls instead of 10,000.")
    options = parser.parse_args()
    with sandbox_process(tasks=500) as base:
        result = anyio.run(lambda: run(base, calls=1_000 if options.quick else CALLS))
    print(json.dumps(result.to_json(), indent=2))
