"""5. Concurrency: N Streamable HTTP clients at once against one server subprocess and the sandbox."""

from __future__ import annotations

import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from common import Figure, Section, http_server_process, summary_ms
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

TARGET_CLIENTS = 500
TARGET_RSS_MB = 300.0
LEVEL_TIMEOUT = 240.0
WAIT_SECONDS = 2
TASK_SECONDS = 0.8  # completes before the 1 s poll of a 2 s wait


@dataclass
class Level:
    clients: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"initialize": [], "list_tasks": [], "wait": []})
    sessions: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) and VmRSS of a process, in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                values[name] = round(int(rest.split()[0]) / 1024, 1)
    return values


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client(url: str, admin: httpx2.AsyncClient, level: Level) -> None:
    start = time.perf_counter()
    try:
        timeout = httpx2.Timeout(60.0, read=120.0)
        async with (
            httpx2.AsyncClient(timeout=timeout, trust_env=False) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            t0 = time.perf_counter()
            await session.initialize()
            t1 = time.perf_counter()
            listed = await session.call_tool("list_tasks", {"limit": 20})
            t2 = time.perf_counter()
            if listed.is_error:
                level.errors["list_tasks is_error"] += 1
                return
            created = await admin.post(
                "/_sandbox/tasks",
                json={"task_type": "thumbnail", "duration_seconds": TASK_SECONDS, "final_status": "COMPLETED"},
            )
            created.raise_for_status()
            t3 = time.perf_counter()
            waited = await session.call_tool(
                "wait_for_task", {"task_id": created.json()["task_id"], "timeout_seconds": WAIT_SECONDS}
            )
            t4 = time.perf_counter()
            if waited.is_error:
                level.errors["wait_for_task is_error"] += 1
                return
            level.outcomes[str((waited.structured_content or {}).get("outcome"))] += 1
            level.latencies["initialize"].append(t1 - t0)
            level.latencies["list_tasks"].append(t2 - t1)
            level.latencies["wait"].append(t4 - t3)
        level.sessions.append(time.perf_counter() - start)
    except Exception as error:  # counted, not raised: one failing client must not hide the others
        level.errors[type(error).__name__] += 1


async def _level(url: str, api_base: str, clients: int) -> tuple[Level, float]:
    level = Level(clients)
    start = time.perf_counter()
    limits = httpx2.Limits(max_connections=50)
    async with httpx2.AsyncClient(base_url=api_base, limits=limits, timeout=60.0, trust_env=False) as admin:
        with anyio.move_on_after(LEVEL_TIMEOUT) as scope:
            async with anyio.create_task_group() as group:
                for _ in range(clients):
                    group.start_soon(_client, url, admin, level)
        if scope.cancelled_caught:
            level.errors["level timeout"] += clients - len(level.sessions) - sum(level.errors.values())
    return level, time.perf_counter() - start


def _level_data(level: Level, wall: float, server: dict[str, float], cpu: dict[str, float]) -> dict[str, Any]:
    done = len(level.sessions)
    data: dict[str, Any] = {
        "clients": level.clients,
        "completed": done,
        "errors": dict(level.errors),
        "wait_outcomes": dict(level.outcomes),
        "wall_s": round(wall, 2),
        "sessions_per_s": round(done / wall, 1),
        "tool_calls_per_s": round(2 * done / wall, 1),
        "server_mb": server,
        "cpu_s": cpu,
    }
    for name, values in [*level.latencies.items(), ("session", level.sessions)]:
        if values:
            data[f"{name}_ms"] = summary_ms(values)
    return data


async def _all(api_base: str, levels: tuple[int, ...]) -> list[dict[str, Any]]:
    results = []
    with http_server_process(api_base) as (url, pid):
        results.append({"baseline_server_mb": proc_status(pid)})
        for clients in levels:
            server_cpu, client_cpu = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF)
            level, wall = await _level(url, api_base, clients)
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = {
                "server": round(cpu_seconds(pid) - server_cpu, 2),
                "bench_client": round(after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime, 2),
            }
            results.append(_level_data(level, wall, proc_status(pid), cpu))
    return results


async def run(api_base: str, *, levels: tuple[int, ...]) -> Section:
    results = await _all(api_base, levels)
    section = Section("concurrency", data={"baseline": results[0], "levels": results[1:]})
    for data in results[1:]:
        errors = sum(data["errors"].values())
        peak = data["server_mb"]["VmHWM"]
        listed = data.get("list_tasks_ms", {})
        is_target = data["clients"] >= TARGET_CLIENTS
        section.figures.append(
            Figure(
                f"5. {data['clients']} concurrent Streamable HTTP clients",
                f"0 errors, peak RSS < {TARGET_RSS_MB:g} MB" + (" (target level)" if is_target else ""),
                f"{errors} errors, peak RSS {peak:g} MB, {data['sessions_per_s']} sessions/s, list_tasks p50/p95 "
                f"{listed.get('median', 0):.0f}/{listed.get('p95', 0):.0f} ms",
                errors == 0 and peak < TARGET_RSS_MB and data["completed"] == data["clients"],
            )
        )
    return section
