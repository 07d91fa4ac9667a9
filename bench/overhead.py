"""1. Call overhead: one list_tasks page by raw httpx2, in-process MCP session and stdio session, interleaved."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from common import BENCH_KEY, Figure, Section, stdio_env, summary_ms
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import SecretStr

from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.validation import check_list_tasks

ARGUMENTS: dict[str, Any] = {"limit": 20}
TARGET_ADDED_MS = 2.0
Call = Callable[[], Awaitable[None]]


def raw_request() -> tuple[dict[str, str], dict[str, Any]]:
    """The exact query and body our client sends for ARGUMENTS (so (a) fetches the same page)."""
    checked = check_list_tasks(dict(ARGUMENTS))
    params = {"limit": str(checked.limit), "include_total": "true"}
    return params, checked.api_request().to_body()


async def _timed(calls: dict[str, Call], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Round-robin so every path sees the same machine state; returns seconds per call per path."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range(warmup + rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            await call()
            if index >= warmup:
                samples[name].append(time.perf_counter() - start)
    return samples


async def run(api_base: str, *, rounds: int, warmup: int = 20) -> Section:
    settings = Settings(api_key=SecretStr(BENCH_KEY), api_base=api_base)
    params, body = raw_request()
    headers = {"Authorization": f"Bearer {BENCH_KEY}", "Accept": "application/json"}
    stdio = StdioServerParameters(command=sys.executable, args=["-m", "mixpeek_tasks_mcp"], env=stdio_env(api_base))
    async with (
        httpx2.AsyncClient(base_url=api_base, headers=headers, trust_env=False) as http,
        Client(build_server(settings)) as in_process,
        stdio_client(stdio) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()

        async def raw() -> None:
            response = await http.post("/v1/tasks/list", params=params, json=body)
            response.raise_for_status()
            response.json()

        async def mcp_in_process() -> None:
            result = await in_process.call_tool("list_tasks", ARGUMENTS)
            assert not result.is_error, result

        async def mcp_stdio() -> None:
            result = await session.call_tool("list_tasks", ARGUMENTS)
            assert not result.is_error, result

        calls = {"a_raw_httpx2": raw, "b_in_process": mcp_in_process, "c_stdio": mcp_stdio}
        samples = await _timed(calls, rounds, warmup)
    stats = {name: summary_ms(values) for name, values in samples.items()}
    base = stats["a_raw_httpx2"]
    added = {
        name: {"median_ms": round(s["median"] - base["median"], 3), "p95_ms": round(s["p95"] - base["p95"], 3)}
        for name, s in stats.items()
        if name != "a_raw_httpx2"
    }
    section = Section("call_overhead", data={"arguments": ARGUMENTS, "rounds": rounds, "ms": stats, "added": added})
    b_added = added["b_in_process"]["median_ms"]
    section.figures.append(
        Figure(
            "1. added median, in-process MCP vs raw httpx2",
            f"<= {TARGET_ADDED_MS} ms",
            f"{b_added:.2f} ms (raw {base['median']:.2f}, MCP {stats['b_in_process']['median']:.2f} ms)",
            b_added <= TARGET_ADDED_MS,
        )
    )
    c = stats["c_stdio"]
    section.figures.append(
        Figure(
            "1. added median (p95), stdio MCP vs raw httpx2",
            "(no target)",
            f"{added['c_stdio']['median_ms']:.2f} ms ({added['c_stdio']['p95_ms']:.2f}); stdio {c['median']:.2f} ms",
        )
    )
    return section
