"""Aimed at the estimate vs plain backoff, on the sandbox's shapes: polls and detection delay.

The tiered batches follow the sandbox's own lifecycle plan (``sandbox.simulator.lifecycle_steps``: a PENDING
batch queues for 30 % of its run with ``queue_position``/``estimated_wait_minutes``, then runs its tiers evenly
to 95 %, then completes). The over-estimated queues say "7 minutes" (or 10) and start and finish in seconds.
The product's path does the waiting: ``follow.wait_one`` on the shared ``Poller`` (``Poller._record``: the
estimator in ``estimate.py``, never later than the backoff in ``schedule.py``), in virtual time
(``clock.VirtualClock``), so a 600 s task takes milliseconds. "backoff" is the same poller with the estimate
switched off. Many jitter seeds (the backoff's jitter and the sandbox's queue length); median and max.
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
from mixpeek_tasks_mcp.sandbox.simulator import Step, apply_patch, lifecycle_steps
from mixpeek_tasks_mcp.waits import poller as poller_module
from mixpeek_tasks_mcp.waits.estimate import FinishEstimator
from mixpeek_tasks_mcp.waits.follow import wait_one
from mixpeek_tasks_mcp.waits.poller import Poller

SHAPES = ((3, 60.0), (3, 180.0), (5, 300.0), (3, 300.0), (8, 600.0))
"""(tiers, seconds from creation to completion) of the batches."""
QUEUES = ((4.0, 7.0), (30.0, 7.0), (90.0, 10.0))
"""(seconds from creation to completion, the queue's estimated_wait_minutes) of the over-estimated queues."""
BUDGET = 900.0
MAX_POLLS = 500


class ScriptedTask:
    """Answers with the task as the sandbox's plan has it at the fake clock's time."""

    def __init__(self, clock: VirtualClock, doc: dict[str, Any], steps: list[Step]) -> None:
        self.clock, self.doc, self.steps = clock, doc, steps
        self.finish = steps[-1][0]
        self.checks = 0

    def now(self) -> TaskResponse:
        self.checks += 1
        doc = dict(self.doc)
        for at, patch in self.steps:
            if at <= self.clock.now():
                doc = apply_patch(doc, patch)
        return TaskResponse.model_validate(doc)

    async def get_task(self, task_id: str, **_: Any) -> TaskResponse:
        return self.now()

    async def list_tasks(self, request: Any, **_: Any) -> ListTasksResponse:  # pragma: no cover - one task
        return ListTasksResponse(results=[self.now()])


class NoAim(FinishEstimator):
    """The plain backoff: observations are kept, the estimate never moves a poll."""

    def next_delay(self, now: float, backoff_delay: float) -> float:
        return backoff_delay


def over_estimated(rng: random.Random, finish: float, minutes: float) -> list[Step]:
    """Queued with an estimate of ``minutes``, then running at a third of ``finish``, completed at ``finish``."""
    position = rng.randint(2, 4)
    return [
        (0.0, {"status": "QUEUED", "queue_position": position, "estimated_wait_minutes": minutes}),
        (finish / 3, {"status": "IN_PROGRESS", "queue_position": None, "estimated_wait_minutes": None}),
        (finish, {"status": "COMPLETED"}),
    ]


async def detect(steps_of: Any, seed: int, aim: bool) -> tuple[int, float]:
    """(polls, detection delay) of one wait_for_task on one task, from its creation to its completion."""
    clock, rng = VirtualClock(), random.Random(seed)
    doc = {"task_id": "batch", "task_type": "api_buckets_batches_process", "status": "PENDING"}
    task = ScriptedTask(clock, doc, steps_of(rng, doc))
    poller = Poller(task, clock, rng=rng.random)  # type: ignore[arg-type]
    estimator = poller_module.FinishEstimator
    poller_module.FinishEstimator = estimator if aim else NoAim  # type: ignore[misc]
    try:
        outcome = await clock.run(lambda: wait_one(poller, Credentials("sk_bench"), "batch", budget=BUDGET))
    finally:
        poller_module.FinishEstimator = estimator  # type: ignore[misc]
        await poller.aclose()
    if outcome.outcome != "success":
        raise RuntimeError("the task was never seen finished")
    return task.checks, clock.now() - task.finish


def batch_steps(tiers: int, duration: float) -> Any:
    def steps(rng: random.Random, doc: dict[str, Any]) -> list[Step]:
        doc["additional_data"] = {"total_tiers": tiers, "batch_id": "btch_bench"}
        return lifecycle_steps(rng, doc, duration, "COMPLETED")

    return steps


def queue_steps(finish: float, minutes: float) -> Any:
    return lambda rng, doc: over_estimated(rng, finish, minutes)


def _shapes() -> dict[str, tuple[str, Any]]:
    shapes = {f"{tiers}x{duration:g}s": ("batch", batch_steps(tiers, duration)) for tiers, duration in SHAPES}
    for finish, minutes in QUEUES:
        shapes[f"queue {minutes:g} min, done at {finish:g}s"] = ("queue", queue_steps(finish, minutes))
    return shapes


async def _grid(seeds: int) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, (kind, steps_of) in _shapes().items():
        row: dict[str, Any] = {"shape": name, "kind": kind}
        paired: dict[str, list[float]] = {}
        for mode in ("backoff", "aimed"):
            runs = [await detect(steps_of, seed, mode == "aimed") for seed in range(seeds)]
            polls, delays = [p for p, _ in runs], [d for _, d in runs]
            paired[mode] = delays
            row[mode] = {
                "polls_median": statistics.median(polls),
                "polls_max": max(polls),
                "polls_total": sum(polls),
                "delay_median_s": round(statistics.median(delays), 2),
                "delay_max_s": round(max(delays), 2),
            }
        # the same seed is the same task and the same jitter: the estimate may only ever make detection earlier
        row["aimed_later_runs"] = sum(a > b + 1e-9 for a, b in zip(paired["aimed"], paired["backoff"], strict=True))
        table[name] = row
    return table


def run(*, seeds: int) -> Section:
    grid = anyio.run(_grid, seeds)
    section = Section("estimate", data={"seeds": seeds, "shapes": grid})
    for row in grid.values():
        base, aimed = row["backoff"], row["aimed"]
        section.figures.append(
            Figure(
                f"9. sandbox {row['kind']} {row['shape']}: aimed vs backoff",
                "detected later than the plain backoff in 0 runs (same task, same jitter)",
                f"polls {aimed['polls_median']:g}/{aimed['polls_max']} vs {base['polls_median']:g}/"
                f"{base['polls_max']}, delay {aimed['delay_median_s']}/{aimed['delay_max_s']} s vs "
                f"{base['delay_median_s']}/{base['delay_max_s']} s (median/max); later in {row['aimed_later_runs']} of "
                f"{seeds} runs",
                row["aimed_later_runs"] == 0,
            )
        )
    return section
