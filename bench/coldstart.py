"""2. Cold start: spawn -> initialize -> tools/list for our server vs a bare one-tool server, plus where it goes."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import Figure, Section, bench_env, ms, stdio_env, summary_ms
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

TARGET_RATIO = 1.15
BARE = Path(__file__).with_name("bare_server.py")
STDIO_PATH = (
    "from mixpeek_tasks_mcp.cli import build_parser; build_parser(); "
    "from mixpeek_tasks_mcp.server import build_server; from mixpeek_tasks_mcp.settings import Settings; "
    "build_server(Settings())"
)
SDK_ONLY = "import mcp.server.mcpserver"
SCHEMA_COST = (
    "import time, json; from mixpeek_tasks_mcp import tools, server, settings; t0 = time.perf_counter(); "
    "tools.build_tools(settings.Settings()); t1 = time.perf_counter(); server.build_server(settings.Settings()); "
    "t2 = time.perf_counter(); print(json.dumps({'build_tools': t1 - t0, 'build_server': t2 - t1}))"
)
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


async def _spawn_to_tools(params: StdioServerParameters) -> float:
    start = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        elapsed = time.perf_counter() - start
    assert tools.tools
    return elapsed


def _python_pass() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=bench_env())
    return time.perf_counter() - start


def _import_times(code: str) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) from one ``python -X importtime -c code``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=bench_env(), check=True
    )
    found: dict[str, tuple[int, int, int]] = {}
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            found[match.group(4)] = (int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2)
    return found


def import_attribution(repeats: int) -> dict[str, Any]:
    """What the stdio start-up imports beyond the SDK alone: self time by top-level package, median of runs."""
    per_package: dict[str, list[float]] = defaultdict(list)
    ours_cumulative: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    for _ in range(repeats):
        sdk = _import_times(SDK_ONLY)
        ours = _import_times(STDIO_PATH)
        extra = {name: value for name, value in ours.items() if name not in sdk}
        sums: dict[str, int] = defaultdict(int)
        for name, (self_us, _, _) in extra.items():
            sums[name.split(".")[0]] += self_us
        for package in set(per_package) | set(sums):
            per_package[package].append(sums.get(package, 0) / 1000)
        totals.append(sum(sums.values()) / 1000)
        for name, (_, cumulative, _) in ours.items():
            if name.startswith("mixpeek_tasks_mcp") and name.count(".") <= 1:
                ours_cumulative[name].append(cumulative / 1000)
    packages = {name: round(statistics.median(v), 2) for name, v in per_package.items()}
    modules = {name: round(statistics.median(v), 2) for name, v in ours_cumulative.items()}
    return {
        "extra_import_ms_beyond_sdk": round(statistics.median(totals), 2),
        "extra_by_package_ms": dict(sorted(packages.items(), key=lambda kv: -kv[1])[:15]),
        "our_modules_cumulative_ms": dict(sorted(modules.items(), key=lambda kv: -kv[1])[:15]),
    }


def schema_cost(repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", SCHEMA_COST], capture_output=True, text=True, env=bench_env(), check=True
        )
        runs.append(json.loads(done.stdout))
    return {key: ms(statistics.median(run[key] for run in runs)) for key in ("build_tools", "build_server")}


async def run(api_base: str, *, rounds: int) -> Section:
    ours = StdioServerParameters(command=sys.executable, args=["-m", "mixpeek_tasks_mcp"], env=stdio_env(api_base))
    bare = StdioServerParameters(command=sys.executable, args=[str(BARE)], env=bench_env())
    samples: dict[str, list[float]] = {"ours": [], "bare": [], "python_pass": []}
    await _spawn_to_tools(ours)  # warm the bytecode cache of both
    await _spawn_to_tools(bare)
    for _ in range(rounds):
        samples["ours"].append(await _spawn_to_tools(ours))
        samples["bare"].append(await _spawn_to_tools(bare))
        samples["python_pass"].append(_python_pass())
    stats = {name: summary_ms(values) for name, values in samples.items()}
    # Each round spawns both back to back, so a paired ratio cancels drift in machine load; min/min is the
    # least-disturbed pair of runs. The figure is the median of the paired ratios.
    paired = [o / b for o, b in zip(samples["ours"], samples["bare"], strict=True)]
    ratio = statistics.median(paired)
    min_ratio = stats["ours"]["min"] / stats["bare"]["min"]
    section = Section(
        "cold_start",
        data={
            "rounds": rounds,
            "ms": stats,
            "ratio_paired_median": round(ratio, 3),
            "ratio_of_medians": round(stats["ours"]["median"] / stats["bare"]["median"], 3),
            "ratio_of_minimums": round(min_ratio, 3),
            "paired_ratios": [round(r, 3) for r in paired],
            "imports": import_attribution(max(3, rounds // 3)),
            "schema_ms": schema_cost(max(3, rounds // 3)),
        },
    )
    section.figures.append(
        Figure(
            "2. cold start (spawn->initialize->tools/list), ours / bare",
            f"<= {TARGET_RATIO}x",
            f"{ratio:.2f}x paired median; min/min {min_ratio:.2f}x ({stats['ours']['median']:.0f} vs "
            f"{stats['bare']['median']:.0f} ms median)",
            ratio <= TARGET_RATIO,
        )
    )
    imports = section.data["imports"]
    top = ", ".join(f"{k} {v:.0f}" for k, v in list(imports["extra_by_package_ms"].items())[:4])
    section.figures.append(
        Figure(
            "2. start-up imports beyond the SDK (self time)",
            "(diagnostic)",
            f"{imports['extra_import_ms_beyond_sdk']:.0f} ms: {top}",
        )
    )
    schema = section.data["schema_ms"]
    section.figures.append(
        Figure(
            "2. build_tools() (schemas) / build_server()",
            "(diagnostic)",
            f"{schema['build_tools']:.1f} ms / {schema['build_server']:.1f} ms",
        )
    )
    return section
