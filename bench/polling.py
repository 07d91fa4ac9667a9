"""4. Waiting: polls and detection delay of wait_for_task's backoff, in virtual time (no real sleeps).

The product's own path: ``follow.wait_one`` on the shared ``Poller`` (its schedule, its ``BackoffMemory``),
every call with a fresh subscription as an agent's next call would, on a ``VirtualClock``.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import anyio
from common import Figure, Section

from mixpeek_tasks_mcp.client import Credentials
from mixpeek_tasks_mcp.clock import VirtualClock
from mixpeek_tasks_mcp.models import ListTasksResponse, TaskResponse
from mixpeek_tasks_mcp.waits.follow import wait_one
from mixpeek_tasks_mcp.waits.poller import Poller
from mixpeek_tasks_mcp.waits.schedule import Backoff

FINISH_TIMES = (5.0, 60.0, 300.0)
CURRENT = Backoff()
CANDIDATES = (  # (factor, cap): the factors asked about at the current cap, plus the cap that fits 60 s in 10 polls
    (1.3, CURRENT.cap),
    (CURRENT.factor, CURRENT.cap),
    (2.0, CURRENT.cap),
    (1.5, 15.0),
)
DEFAULT_BUDGET = 45.0  # the server's wait_default_seconds: what an agent gets when it passes no timeout
SINGLE_BUDGET = 600.0  # wait_max_seconds: one call long enough for every finish time
MAX_POLLS_AT_60 = 10
RUNNING = TaskResponse(task_id="task_bench", task_type="thumbnail", status="IN_PROGRESS")
DONE = TaskResponse(task_id="task_bench", task_type="thumbnail", status="COMPLETED")


def delay_limit(finish: float) -> float:
    return max(1.0, 0.15 * finish)


class FinishingTask:
    """A Tasks API whose one task is IN_PROGRESS until ``finish``, then COMPLETED; counts the checks."""

    def __init__(self, clock: VirtualClock, finish: float) -> None:
        self.clock, self.finish, self.checks = clock, finish, 0

    def _now(self) -> TaskResponse:
        self.checks += 1
        return DONE if self.clock.now() >= self.finish else RUNNING

    async def get_task(self, task_id: str, **_: Any) -> TaskResponse:
        return self._now()

    async def list_tasks(self, request: Any, **_: Any) -> ListTasksResponse:  # pragma: no cover - one task
        return ListTasksResponse(results=[self._now()])


async def detect(finish: float, backoff: Backoff, seed: int, budget: float) -> tuple[int, float]:
    """(polls, detection delay) for a task finishing at ``finish`` s, calling again with the same budget on
    time-outs (as an agent following next_call does, with no pause between calls)."""
    clock = VirtualClock()
    rng = random.Random(seed)
    task = FinishingTask(clock, finish)
    poller = Poller(task, clock, backoff=backoff, rng=rng.random)  # type: ignore[arg-type]
    key = Credentials("sk_bench")
    try:
        for _ in range(1000):
            outcome = await clock.run(lambda: wait_one(poller, key, RUNNING.task_id, budget=budget))
            if outcome.outcome != "timed_out":
                return task.checks, clock.now() - finish
    finally:
        await poller.aclose()
    raise RuntimeError("the task was never detected")


async def _grid(seeds: int) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for mode, budget in (("one_call", SINGLE_BUDGET), ("agent_45s_calls", DEFAULT_BUDGET)):
        for factor, cap in CANDIDATES:
            backoff = Backoff(initial=CURRENT.initial, factor=factor, cap=cap, jitter=CURRENT.jitter)
            for finish in FINISH_TIMES:
                runs = [await detect(finish, backoff, seed, budget) for seed in range(seeds)]
                polls = [p for p, _ in runs]
                delays = [d for _, d in runs]
                table[f"{mode}/x{factor}/cap{cap:g}/{finish:g}s"] = {
                    "mode": mode,
                    "factor": factor,
                    "cap_s": cap,
                    "finish_s": finish,
                    "polls_median": statistics.median(polls),
                    "polls_max": max(polls),
                    "delay_median_s": round(statistics.median(delays), 2),
                    "delay_max_s": round(max(delays), 2),
                    "delay_limit_s": delay_limit(finish),
                }
    return table


async def _sweep(seeds: int) -> dict[str, Any]:
    """Worst delay / limit over finish times 2..600 s: how far from the 15 % rule a task can land."""
    worst: dict[str, Any] = {}
    for factor, cap in CANDIDATES:
        backoff = Backoff(initial=CURRENT.initial, factor=factor, cap=cap, jitter=CURRENT.jitter)
        ratio, at = 0.0, 0.0
        for finish in range(2, 601, 2):
            for seed in range(seeds):
                _, delay = await detect(float(finish), backoff, seed, SINGLE_BUDGET)
                if delay / delay_limit(finish) > ratio:
                    ratio, at = delay / delay_limit(finish), float(finish)
        worst[f"x{factor}/cap{cap:g}"] = {"worst_delay_over_limit": round(ratio, 2), "at_finish_s": at}
    return worst


def run(*, seeds: int) -> Section:
    grid = anyio.run(_grid, seeds)
    sweep = anyio.run(_sweep, max(2, seeds // 5))
    section = Section("waiting", data={"seeds": seeds, "backoff": vars(CURRENT), "grid": grid, "sweep": sweep})
    for mode in ("one_call", "agent_45s_calls"):
        for finish in FINISH_TIMES:
            row = grid[f"{mode}/x{CURRENT.factor}/cap{CURRENT.cap:g}/{finish:g}s"]
            polls_ok = row["polls_max"] <= MAX_POLLS_AT_60 if finish == 60.0 else True
            delay_ok = row["delay_max_s"] <= row["delay_limit_s"]
            target = f"delay <= {row['delay_limit_s']:g} s" + (", polls <= 10" if finish == 60.0 else "")
            section.figures.append(
                Figure(
                    f"4. wait {finish:g} s task, {mode.replace('_', ' ')} (x{CURRENT.factor})",
                    target,
                    f"polls {row['polls_median']:g} (max {row['polls_max']}), delay {row['delay_median_s']} s "
                    f"(max {row['delay_max_s']})",
                    polls_ok and delay_ok,
                )
            )
    return section


def tradeoff_table(section: Section) -> list[str]:
    """Markdown rows: (factor, cap) x finish time, polls and delay (median/max), both modes."""
    lines = [
        "| mode | factor | cap | finish | polls med/max | delay med/max (s) | limit (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in section.data["grid"].values():
        lines.append(
            f"| {row['mode']} | {row['factor']} | {row['cap_s']:g} s | {row['finish_s']:g} s "
            f"| {row['polls_median']:g}/{row['polls_max']} "
            f"| {row['delay_median_s']}/{row['delay_max_s']} | {row['delay_limit_s']:g} |"
        )
    return lines
