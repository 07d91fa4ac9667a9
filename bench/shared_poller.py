"""Many waits, one shared poller: N Streamable HTTP sessions each waiting on its own task, then N waiting on
one task, against a server subprocess and the sandbox in its own process.

Phases per scenario: open and initialize every session (a barrier), create the tasks in one admin call with
a script that completes them ``finish_after`` seconds later, clear the request log, then every session calls
``wait_for_task`` at once. The sandbox's request log (read while it runs) gives the API requests, their times
and the ids each asked about; detection delay = when a session's answer arrived - the scripted completion
(the task's ``created_at`` + ``finish_after``; same machine, same wall clock). The load runs are served with
``MIXPEEK_MAX_REQUESTS_PER_MINUTE=0`` (no ceiling of the server's own); a separate run sets a 10/min ceiling (a
Free key, bursts of 5) and checks the requests per minute stay within it.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from common import Figure, Section, http_server_process
from concurrency import proc_status
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sandbox_log import LogCollector, max_in_window, steps, task_ids_asked, wall

BATCH_LIMIT = 100  # the poller's ids per list request
TARGET_RSS_MB = 300.0
FINISH_AFTER = 12.0
"""Seconds from creating the tasks to their scripted completion (every session is waiting by then)."""
WAIT_TIMEOUT = 45
SCENARIO_TIMEOUT = 240.0
BUDGET_PER_MINUTE = 10  # a Free key: since issue 16 the default learns the sandbox's 600/min, so set as a ceiling
BUDGET_BURST = 5  # and MIXPEEK_REQUEST_BURST
BUDGET_SESSIONS = 20
BUDGET_FINISH_AFTER = 20.0
NO_BUDGET = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "0"}


@dataclass
class Run:
    sessions: int
    ready: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    answered_at: list[float] = field(default_factory=list)
    all_ready: anyio.Event = field(default_factory=anyio.Event)
    go: anyio.Event = field(default_factory=anyio.Event)
    all_done: anyio.Event = field(default_factory=anyio.Event)

    def arrived(self) -> None:
        self.ready += 1
        if self.ready >= self.sessions:
            self.all_ready.set()

    def ended(self) -> None:
        if len(self.answered_at) + sum(self.errors.values()) >= self.sessions:
            self.all_done.set()


async def _session(url: str, run: Run, arguments: Callable[[], dict[str, Any]]) -> None:
    counted = False
    try:
        timeout = httpx2.Timeout(60.0, read=180.0)
        async with (
            httpx2.AsyncClient(timeout=timeout, trust_env=False) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            counted = True
            run.arrived()
            await run.go.wait()
            result = await session.call_tool("wait_for_task", arguments())
            if result.is_error:
                run.errors["wait_for_task is_error"] += 1
                return
            run.answered_at.append(time.time())
            run.outcomes[str((result.structured_content or {}).get("outcome"))] += 1
    except Exception as error:  # counted, not raised: one failing session must not hide the others
        run.errors[type(error).__name__] += 1
        if not counted:
            run.arrived()
    finally:
        run.ended()


def _script(finish_after: float) -> list[dict[str, Any]]:
    return [{"after_seconds": 0.2, "status": "IN_PROGRESS"}, {"after_seconds": finish_after, "status": "COMPLETED"}]


async def scenario(
    url: str, admin: httpx2.AsyncClient, *, sessions: int, distinct: bool, finish_after: float = FINISH_AFTER
) -> dict[str, Any]:
    """One run: ``sessions`` waits, on ``sessions`` distinct tasks or all on one task."""
    run, log = Run(sessions), LogCollector(admin)
    ids: list[str] = []
    done = anyio.Event()

    def arguments() -> dict[str, Any]:
        return {"task_id": ids.pop() if distinct else ids[0], "timeout_seconds": WAIT_TIMEOUT}

    with anyio.move_on_after(SCENARIO_TIMEOUT) as scope:
        async with anyio.create_task_group() as group:
            for _ in range(sessions):
                group.start_soon(_session, url, run, arguments)
            await run.all_ready.wait()
            print(f"[poller] {run.ready} sessions ready, {sum(run.errors.values())} errors", file=sys.stderr)
            count = sessions if distinct else 1
            tasks = [{"task_type": "api_buckets_batches_process", "status": "PENDING", "script": _script(finish_after)}]
            created = await admin.post("/_sandbox/tasks", json={"tasks": tasks * count})
            created.raise_for_status()
            rows = created.json()["tasks"]
            ids.extend(str(row["task_id"]) for row in rows)
            completes = {str(row["task_id"]): wall(row["created_at"]) + finish_after for row in rows}
            await log.clear()
            group.start_soon(log.run, done)
            started = time.time()
            run.go.set()
            await run.all_done.wait()
            done.set()
    if scope.cancelled_caught:
        run.errors["scenario timeout"] += sessions - len(run.answered_at)
    return _figures(run, log, completes, started)


def _figures(run: Run, log: LogCollector, completes: dict[str, float], started: float) -> dict[str, Any]:
    polls = log.polls()
    bursts = steps(polls)
    times = [wall(entry["time"]) for entry in polls]
    span = max(times[-1] - started, 1e-9) if times else 1e-9
    finish = max(completes.values())  # created in one call: every task completes within ms of this
    delays = [at - finish for at in run.answered_at]
    checks = sum(len(task_ids_asked(entry)) for entry in polls)
    per_step = [len(burst) for burst in bursts]
    return {
        "sessions": run.sessions,
        "distinct_tasks": len(completes),
        "errors": dict(run.errors),
        "outcomes": dict(run.outcomes),
        "api_requests": len(polls),
        "api_requests_by_method": dict(Counter(str(entry["method"]) for entry in polls)),
        "task_checks": checks,
        "ids_per_request": round(checks / len(polls), 1) if polls else 0,
        "poll_steps": len(bursts),
        "requests_per_step_max": max(per_step, default=0),
        "requests_per_step_median": statistics.median(per_step) if per_step else 0,
        "requests_per_minute": round(len(polls) / span * 60, 1),
        "max_requests_in_any_60s": max_in_window(times, 60.0),
        "wait_phase_s": round(span, 1),
        "detection_delay_s": _spread(delays),
    }


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], 2),
        "max": round(ordered[-1], 2),
    }


async def run(api_base: str, *, sessions: int, budget_sessions: int = BUDGET_SESSIONS) -> Section:
    section = Section("poller")
    limits = httpx2.Limits(max_connections=20)
    async with httpx2.AsyncClient(base_url=api_base, limits=limits, timeout=60.0, trust_env=False) as admin:
        with http_server_process(api_base, **NO_BUDGET) as (url, pid):
            section.data["baseline_server_mb"] = proc_status(pid)
            for distinct in (True, False):
                result = await scenario(url, admin, sessions=sessions, distinct=distinct)
                result["server_mb"] = proc_status(pid)
                section.data["distinct" if distinct else "one_task"] = result
        ceiling = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": str(BUDGET_PER_MINUTE)}
        with http_server_process(api_base, **ceiling) as (url, _):  # 10 requests/min, bursts of 5
            result = await scenario(
                url, admin, sessions=budget_sessions, distinct=True, finish_after=BUDGET_FINISH_AFTER
            )
            section.data["default_budget"] = result
    _add_figures(section, sessions)
    return section


def _add_figures(section: Section, sessions: int) -> None:
    for name, label in (("distinct", "each on its own task"), ("one_task", "all on one task")):
        data = section.data[name]
        limit = math.ceil(data["distinct_tasks"] / BATCH_LIMIT)
        errors = sum(data["errors"].values())
        delay = data["detection_delay_s"]
        peak = data["server_mb"]["VmHWM"]
        section.figures.append(
            Figure(
                f"7. {sessions} Streamable HTTP sessions waiting, {label} (no budget)",
                f"<= {limit} API requests per poll step, 0 errors, RSS < {TARGET_RSS_MB:g} MB",
                f"{data['requests_per_step_max']} max per step ({data['api_requests']} requests in "
                f"{data['poll_steps']} steps, {data['requests_per_minute']:g}/min), {errors} errors, detection "
                f"delay median {delay.get('median', 0)} s (max {delay.get('max', 0)}), peak RSS {peak:g} MB",
                data["requests_per_step_max"] <= limit and errors == 0 and peak < TARGET_RSS_MB,
            )
        )
    data = section.data["default_budget"]
    allowed = BUDGET_PER_MINUTE + BUDGET_BURST
    errors = sum(data["errors"].values())
    section.figures.append(
        Figure(
            f"7. {data['sessions']} sessions waiting on their own tasks, a {BUDGET_PER_MINUTE}/min ceiling "
            f"(burst {BUDGET_BURST})",
            f"<= {allowed} requests in any 60 s, all answered",
            f"{data['max_requests_in_any_60s']} in the busiest 60 s ({data['api_requests']} requests over "
            f"{data['wait_phase_s']:g} s), outcomes {data['outcomes']}, {errors} errors",
            data["max_requests_in_any_60s"] <= allowed and errors == 0,
        )
    )
