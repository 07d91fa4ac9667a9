"""16. The request budget per key, learned from the API's headers, against the old fixed process budget.

One sandbox process (1,500 FAILED tasks among 2,000; it advertises and enforces a per-key moving window like
Mixpeek), our server over Streamable HTTP in its own process, side by side in one run:

- the 1,500-failure triage under default settings, before (a fixed 10/min budget: ``MIXPEEK_MAX_REQUESTS_PER_
  MINUTE=10``, what every key got before issue 16) and after (the limit learned from the headers, 600/min);
- latency of 20 ``list_tasks`` calls in one minute, before and after;
- two tenants over key passthrough while tenant A's key is throttled (another process keeps A's window full):
  B's ``list_tasks`` latency;
- requests per window against the advertised limit (60/min) over a mixed load of lists, waits and a triage:
  the most in any 60 s, and the sandbox's 429s.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx2
from common import BENCH_KEY, LOOPBACK, Figure, Section, bench_env, child, http_server_process, summary
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

FAILED = 1_500
TENANT_A = "sk_bench_tenant_a_5d1c0e"
TENANT_B = "sk_bench_tenant_b_8a42f7"
OLD_BUDGET = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "10"}
"""Before issue 16 every key shared one fixed 10/min budget (bursts of 5): a 10/min ceiling reproduces it."""
_SANDBOX_LINE = re.compile(r"sandbox on (http://127\.0\.0\.1:\d+)")


@contextmanager
def limited_sandbox() -> Iterator[str]:
    args = [sys.executable, "-m", "mixpeek_tasks_mcp", "sandbox", "--host", LOOPBACK, "--port", "0", "--tasks", "0"]
    args += ["--no-simulate", "--rate-limit-rpm", "600"]
    for key in (BENCH_KEY, TENANT_A, TENANT_B):
        args += ["--api-key", key]
    with child(args, _SANDBOX_LINE, bench_env()) as running:
        assert running.match is not None
        yield running.match.group(1)


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _admin(api_base: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx2.request(method, api_base + path, json=body, timeout=60.0, trust_env=False)
    response.raise_for_status()
    return response.json()


def _load_tasks(api_base: str) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    tasks = [
        {
            "task_type": "api_buckets_objects_create",
            "status": "FAILED" if index < FAILED else "COMPLETED",
            "created_at": (start + timedelta(seconds=index)).isoformat(),
            "error": f"Object obj_{index:06x} exceeds the 2 GiB size limit" if index < FAILED else None,
        }
        for index in range(2_000)
    ]
    _admin(api_base, "POST", "/_sandbox/tasks", {"tasks": tasks})


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


@contextmanager
def _server(api_base: str, **env: str) -> Iterator[str]:
    with http_server_process(api_base, **env) as (url, _):
        yield url


async def _session_call(url: str, tool: str, arguments: dict[str, Any], key: str | None = None) -> tuple[Any, float]:
    headers = {"X-Mixpeek-Api-Key": key} if key else None
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0), trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        started = time.perf_counter()
        result = await session.call_tool(tool, arguments)
        return result, time.perf_counter() - started


async def _triage(url: str) -> dict[str, Any]:
    result, seconds = await _session_call(url, "triage_tasks", {"status": "FAILED"})
    data = result.structured_content or {}
    return {
        "seconds": round(seconds, 2),
        "scanned": data.get("scanned"),
        "total": data.get("total"),
        "stopped_because": data.get("stopped_because"),
        "coverage": data.get("coverage"),
    }


async def _lists_in_a_minute(url: str, calls: int, key: str | None = None, spacing: float = 3.0) -> dict[str, Any]:
    """``calls`` list_tasks calls, one every ``spacing`` s, in one session: their latencies."""
    headers = {"X-Mixpeek-Api-Key": key} if key else None
    latencies: list[float] = []
    errors = waited = 0
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0), trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for index in range(calls):
            started = time.perf_counter()
            result = await session.call_tool("list_tasks", {"limit": 5, "offset": index})
            latencies.append(time.perf_counter() - started)
            errors += bool(result.is_error)
            waited += "for the request budget" in _text(result)
            await anyio.sleep(max(0.0, spacing - latencies[-1]))
    stats = {key: round(value * 1000, 1) if key != "n" else value for key, value in summary(latencies).items()}
    return {"latency_ms": stats, "errors": errors, "answers_saying_they_waited": waited}


def _requests(api_base: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = _admin(api_base, "GET", "/_sandbox/requests")["requests"]
    return [entry for entry in entries if str(entry.get("path", "")).startswith("/v1/")]


def most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, low = 0, 0
    for high, at in enumerate(ordered):
        while ordered[low] <= at - window:
            low += 1
        best = max(best, high - low + 1)
    return best


async def _two_tenants(api_base: str, calls: int) -> dict[str, Any]:
    _admin(api_base, "POST", "/_sandbox/rate-limit", {"rpm": 60, "window": 60})
    stop, full = anyio.Event(), anyio.Event()
    result: dict[str, Any] = {}
    with _server(api_base, MIXPEEK_ALLOW_KEY_PASSTHROUGH="true") as url:

        async def drain_a() -> None:
            headers = {"Authorization": f"Bearer {TENANT_A}", "User-Agent": "drainer"}
            async with httpx2.AsyncClient(base_url=api_base, headers=headers, trust_env=False) as http:
                while not stop.is_set():
                    response = await http.post("/v1/tasks/list", params={"limit": "1"}, json={})
                    if response.status_code == 429:
                        full.set()
                    await anyio.sleep(0.05)

        async def tenant_a() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(_session_call, url, "triage_tasks", {"timeout_seconds": 20}, TENANT_A)

        async def tenant_b() -> None:
            result["b"] = await _lists_in_a_minute(url, calls, TENANT_B, spacing=1.0)

        async with anyio.create_task_group() as group:
            group.start_soon(drain_a)
            await full.wait()  # A's window is full before either tenant starts
            async with anyio.create_task_group() as tenants:
                tenants.start_soon(tenant_a)
                tenants.start_soon(tenant_b)
            stop.set()
    ours = [entry for entry in _requests(api_base) if entry.get("user_agent") != "drainer"]
    for name, key in (("a", TENANT_A), ("b", TENANT_B)):
        sent = [entry["status"] for entry in ours if entry["key_fingerprint"] == _fingerprint(key)]
        result[f"{name}_sent"] = {"requests": len(sent), "429s": sent.count(429)}
    return result


async def _mixed_load(api_base: str, seconds: float) -> dict[str, Any]:
    """Lists, waits and a triage for ``seconds`` against an advertised, enforced 60/min."""
    _admin(api_base, "POST", "/_sandbox/rate-limit", {"rpm": 60, "window": 60})
    _admin(api_base, "DELETE", "/_sandbox/requests")
    ids = []
    for finish in (5.0, 15.0, 30.0):
        script = [{"after_seconds": 0.1, "status": "IN_PROGRESS"}, {"after_seconds": finish, "status": "COMPLETED"}]
        body = {"task_type": "api_buckets_batches_process", "status": "PENDING", "script": script}
        task = _admin(api_base, "POST", "/_sandbox/tasks", body)
        ids.append(task["task_id"])
    outcomes: dict[str, Any] = {"errors": 0}
    with _server(api_base) as url:

        async def lists() -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                result, _ = await _session_call(url, "list_tasks", {"limit": 5})
                outcomes["errors"] += bool(result.is_error)
                await anyio.sleep(2.0)

        async def waits() -> None:
            result, _ = await _session_call(url, "wait_for_task", {"task_ids": ids, "timeout_seconds": 60})
            outcomes["wait"] = (result.structured_content or {}).get("outcome")

        async def triage() -> None:
            result, _ = await _session_call(url, "triage_tasks", {"timeout_seconds": 60})
            outcomes["triage"] = (result.structured_content or {}).get("stopped_because")

        async with anyio.create_task_group() as group:
            group.start_soon(lists)
            group.start_soon(waits)
            group.start_soon(triage)
    entries = _requests(api_base)
    counted = [float(entry["at"]) for entry in entries if entry["status"] != 429]
    outcomes.update(
        requests=len(entries),
        sandbox_429s=sum(1 for entry in entries if entry["status"] == 429),
        max_in_any_60s=most_in_any_window(counted, 60.0),
        advertised=60,
    )
    return outcomes


async def run(*, quick: bool = False) -> Section:
    section = Section("budget")
    with limited_sandbox() as api_base:
        _load_tasks(api_base)
        with _server(api_base, **OLD_BUDGET) as url:
            before = await _triage(url)
        _admin(api_base, "POST", "/_sandbox/rate-limit", {"rpm": 600, "window": 60})
        with _server(api_base) as url:
            after = await _triage(url)
        calls = 8 if quick else 20
        with _server(api_base, **OLD_BUDGET) as url:
            lists_before = await _lists_in_a_minute(url, calls)
        with _server(api_base) as url:
            lists_after = await _lists_in_a_minute(url, calls)
        tenants = await _two_tenants(api_base, 10 if quick else 20)
        mixed = await _mixed_load(api_base, 30.0 if quick else 90.0)
    section.data = {
        "triage_before": before,
        "triage_after": after,
        "lists_before": lists_before,
        "lists_after": lists_after,
        "two_tenants": tenants,
        "mixed_load": mixed,
    }
    b = tenants["b"]
    section.figures += [
        Figure(
            "16. triage of 1,500 failures, fixed 10/min vs learned 600/min",
            "all 1,500 in one call (after)",
            f"before {before['scanned']:,} of {before['total']:,} in {before['seconds']:.1f} s "
            f"({before['stopped_because']}); after {after['scanned']:,} in {after['seconds']:.1f} s "
            f"({after['stopped_because']})",
            after["scanned"] == FAILED and after["stopped_because"] == "all",
        ),
        Figure(
            f"16. {calls} list_tasks in one minute (median / max)",
            "no call waits for the budget (after)",
            f"before {lists_before['latency_ms']['median']:.0f} / {lists_before['latency_ms']['max']:.0f} ms, "
            f"{lists_before['answers_saying_they_waited']} waited; after {lists_after['latency_ms']['median']:.0f} / "
            f"{lists_after['latency_ms']['max']:.0f} ms, {lists_after['answers_saying_they_waited']} waited",
            lists_after["answers_saying_they_waited"] == 0 and lists_after["errors"] == 0,
        ),
        Figure(
            "16. tenant B's list_tasks while tenant A is throttled",
            "B median within 1 s, no errors",
            f"B median {b['latency_ms']['median']:.0f} ms, p95 {b['latency_ms']['p95']:.0f} ms, {b['errors']} errors; "
            f"A's server requests: {tenants['a_sent']['requests']}, {tenants['a_sent']['429s']} refused (429); "
            f"B's: {tenants['b_sent']['requests']}, {tenants['b_sent']['429s']} refused",
            b["latency_ms"]["median"] <= 1000 and b["errors"] == 0 and tenants["b_sent"]["429s"] == 0,
        ),
        Figure(
            "16. requests per window, advertised 60/min, mixed load",
            "<= 60 in any 60 s, 0 429s",
            f"{mixed['max_in_any_60s']} in the busiest 60 s of {mixed['requests']} requests, "
            f"{mixed['sandbox_429s']} 429s; wait {mixed.get('wait')}, triage {mixed.get('triage')}",
            mixed["max_in_any_60s"] <= 60 and mixed["sandbox_429s"] == 0,
        ),
    ]
    return section


if __name__ == "__main__":
    import json

    print(json.dumps(anyio.run(lambda: run(quick="--quick" in sys.argv)).to_json(), indent=2))  # stdout-ok
