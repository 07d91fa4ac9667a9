"""Run every benchmark side by side in one go: ``python bench/run.py [--quick] [--only NAMES]``.

Writes ``.bench-results/bench-<time>.json`` (+ ``latest.json``, ``latest.md``) and prints the summary
table. Loopback only: a sandbox subprocess on 127.0.0.1 stands in for the Mixpeek API.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import budget_bench
import coldstart
import concurrency
import context_cost
import estimate_bench
import multiwait_bench
import observability_bench
import overhead
import polling
import replicas_bench
import report
import sandbox_page
import shared_poller
import soak
import triage_bench
from common import REPO, Figure, Section, sandbox_process

POLLER_SESSIONS = 200
"""Sessions of the full shared-poller run; 500 (the issue's figure) was measured once, see benchmarks.md."""
SECTIONS = (
    "waiting",
    "context",
    "triage",
    "overhead",
    "coldstart",
    "concurrency",
    "sandbox",
    "estimate",
    "multiwait",
    "poller",
    "soak",
    "observability",
    "budget",
    "replicas",
)


def _guarded(name: str, work: Callable[[], Section]) -> Section:
    """One failing bench is reported as a failed row, not a lost run."""
    started = time.perf_counter()
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    try:
        section = work()
    except Exception as error:
        section = Section(name, [Figure(f"{name}", "runs", f"failed: {type(error).__name__}: {error}"[:200], False)])
    section.data["seconds"] = round(time.perf_counter() - started, 1)
    print(f"[bench] {name} done in {section.data['seconds']} s", file=sys.stderr, flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Short smoke run (small samples, small levels).")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"Comma-separated subset of {','.join(SECTIONS)}.")
    parser.add_argument("--out", default=str(REPO / ".bench-results"), help="Directory for the JSON results.")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    options = {
        "quick": quick,
        "only": sorted(only),
        "overhead_rounds": 50 if quick else 400,
        "coldstart_rounds": 4 if quick else 15,
        "waiting_seeds": 5 if quick else 21,
        "concurrency_levels": (20, 50) if quick else (50, 200, 500),
        "sandbox_tasks": 20_000 if quick else 100_000,
        "sandbox_repeat": 5 if quick else 30,
        "estimate_seeds": 5 if quick else 21,
        "replicas_waiters": (60,) if quick else (60, 300, 1000),
        "multiwait_rounds": 1 if quick else 2,
        "poller_sessions": 30 if quick else POLLER_SESSIONS,
        "poller_budget_sessions": 5 if quick else 20,
        "soak_calls": 1_000 if quick else soak.CALLS,
        "observability_rounds": 50 if quick else 300,
    }
    out_dir = Path(args.out)
    sections: list[Section] = []
    if "waiting" in only:
        sections.append(_guarded("waiting", lambda: polling.run(seeds=options["waiting_seeds"])))
    needs_api = only & {"context", "overhead", "coldstart", "concurrency", "observability"}
    if needs_api:
        with sandbox_process(tasks=500) as api_base:
            if "context" in only:
                sections.append(_guarded("context", lambda: anyio.run(context_cost.run, api_base)))
            if "overhead" in only:
                rounds = options["overhead_rounds"]
                sections.append(_guarded("overhead", lambda: anyio.run(lambda: overhead.run(api_base, rounds=rounds))))
            if "coldstart" in only:
                rounds = options["coldstart_rounds"]
                cold = rounds
                sections.append(_guarded("coldstart", lambda: anyio.run(lambda: coldstart.run(api_base, rounds=cold))))
            if "observability" in only:
                paired = options["observability_rounds"]
                sections.append(
                    _guarded(
                        "observability",
                        lambda: anyio.run(lambda: observability_bench.run(api_base, rounds=paired)),
                    )
                )
            if "concurrency" in only:
                levels = options["concurrency_levels"]
                sections.append(
                    _guarded("concurrency", lambda: anyio.run(lambda: concurrency.run(api_base, levels=levels)))
                )
    if "triage" in only:
        with sandbox_process(tasks=10_000) as api_base:
            sections.append(_guarded("triage", lambda: anyio.run(triage_bench.run, api_base)))
    if "sandbox" in only:
        tasks, repeat = options["sandbox_tasks"], options["sandbox_repeat"]
        sections.append(_guarded("sandbox", lambda: sandbox_page.run(out_dir, tasks=tasks, repeat=repeat)))
    if "estimate" in only:
        seeds = options["estimate_seeds"]
        sections.append(_guarded("estimate", lambda: estimate_bench.run(seeds=seeds)))
    if only & {"multiwait", "poller"}:
        with sandbox_process(tasks=50) as api_base:
            if "multiwait" in only:
                rounds = options["multiwait_rounds"]
                sections.append(
                    _guarded("multiwait", lambda: anyio.run(lambda: multiwait_bench.run(api_base, rounds=rounds)))
                )
            if "poller" in only:
                waiters, budgeted = options["poller_sessions"], options["poller_budget_sessions"]
                sections.append(
                    _guarded(
                        "poller",
                        lambda: anyio.run(
                            lambda: shared_poller.run(api_base, sessions=waiters, budget_sessions=budgeted)
                        ),
                    )
                )
    if "soak" in only:
        with sandbox_process(tasks=500) as api_base:
            calls = options["soak_calls"]
            sections.append(_guarded("soak", lambda: anyio.run(lambda: soak.run(api_base, calls=calls))))
    if "budget" in only:
        sections.append(_guarded("budget", lambda: anyio.run(lambda: budget_bench.run(quick=quick))))
    if "replicas" in only:  # 1 and 3 replicas, without and with a Redis (its own sandbox and redis-server)
        sizes = options["replicas_waiters"]
        sections.append(_guarded("replicas", lambda: replicas_bench.run(sizes=sizes)))
    path = report.write(out_dir, sections, options)
    print("\n".join(report.table(sections)))
    if "waiting" in only:
        waiting = next(s for s in sections if s.name == "waiting")
        if "grid" in waiting.data:
            print("\nBackoff trade-off (polls and detection delay by factor and cap):")
            print("\n".join(polling.tradeoff_table(waiting)))
    print(f"\nresults: {path}")
    return 0 if all(f.met is not False for s in sections for f in s.figures) else 1


if __name__ == "__main__":
    sys.exit(main())
