"""Aimed at the estimate vs plain backoff, on the sandbox's tiered batches: polls and detection delay.

The tasks follow the sandbox's own lifecycle plan (``sandbox.simulator.lifecycle_steps``: a PENDING batch
queues for 30 % of its run with ``queue_position``/``estimated_wait_minutes``, then runs its tiers evenly to
95 %, then completes). The real poller schedules the polls (``Poller._record``: the estimator in
``estimate.py`` and the backoff in ``waits/schedule.py``), on a fake clock: the loop's sleeping is replaced by jumping
to the next due time, so a 500 s task takes milliseconds. "backoff" is the same poller with the estimate
switched off. Many jitter seeds (the backoff's jitter and the sandbox's queue length); median and max.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import anyio
from common import Figure, Section

from mixpeek_tasks_mcp.client import Credentials
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.models import ListTasksResponse, TaskResponse
from mixpeek_tasks_mcp.sandbox.simulator import Step, apply_patch, lifecycle_steps
from mixpeek_tasks_mcp.waits.estimate import FinishEstimator
from mixpeek_tasks_mcp.waits.poller import Poller

SHAPES = ((3, 60.0), (3, 180.0), (5, 300.0), (3, 300.0), (8, 600.0))
"""(tiers, seconds from creation to completion) of the batches."""
BUDGET = 900.0
MAX_POLLS = 500


class ScriptedTask:
    """Answers with the task as the sandbox's plan has it at the fake clock's time."""

    def __init__(self, clock: FakeClock, doc: dict[str, Any], steps: list[Step]) -> None:
        self.clock, self.doc, self.steps = clock, doc, steps
        self.finish = steps[-1][0]

    def now(self) -> TaskResponse:
        doc = dict(self.doc)
        for at, patch in self.steps:
            if at <= self.clock.now():
                doc = apply_patch(doc, patch)
        return TaskResponse.model_validate(doc)

    async def get_task(self, task_id: str, **_: Any) -> TaskResponse:
        return self.now()

    async def list_tasks(self, request: Any, **_: Any) -> ListTasksResponse:  # pragma: no cover - one task
        return ListTasksResponse(results=[self.now()])


class BenchPoller(Poller):
    """The real poller, driven step by step by ``detect`` instead of by its own loop."""

    def _kick(self) -> None:
        return None


class NoAim(FinishEstimator):
    """The plain backoff: observations are kept, the estimate never moves a poll."""

    def next_delay(self, now: float, backoff_delay: float) -> float:
        return backoff_delay


async def detect(tiers: int, duration: float, seed: int, aim: bool) -> tuple[int, float]:
    """(polls, detection delay) of one wait on one batch, from its creation to its completion."""
    clock, rng = FakeClock(), random.Random(seed)
    doc = {"task_id": "batch", "task_type": "api_buckets_batches_process", "status": "PENDING"}
    doc["additional_data"] = {"total_tiers": tiers, "batch_id": "btch_bench"}
    task = ScriptedTask(clock, doc, lifecycle_steps(rng, doc, duration, "COMPLETED"))
    poller = BenchPoller(task, clock, rng=rng.random)  # type: ignore[arg-type]
    subscription = poller.subscribe(Credentials("sk_bench"), ["batch"], deadline=BUDGET)
    entry = next(iter(poller._entries.values()))
    if not aim:
        entry.estimator = NoAim(cap=poller.backoff.cap)
    for polls in range(1, MAX_POLLS + 1):
        clock.time = max(clock.time, entry.due)
        await poller.step()
        observation = subscription.pending.pop("batch")
        if observation.final:
            subscription.close()
            return polls, clock.now() - task.finish
    raise RuntimeError("the batch was never seen finished")


async def _grid(seeds: int) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for tiers, duration in SHAPES:
        row: dict[str, Any] = {"tiers": tiers, "duration_s": duration}
        for mode in ("backoff", "aimed"):
            runs = [await detect(tiers, duration, seed, mode == "aimed") for seed in range(seeds)]
            polls, delays = [p for p, _ in runs], [d for _, d in runs]
            row[mode] = {
                "polls_median": statistics.median(polls),
                "polls_max": max(polls),
                "polls_total": sum(polls),
                "delay_median_s": round(statistics.median(delays), 2),
                "delay_max_s": round(max(delays), 2),
            }
        table[f"{tiers}x{duration:g}s"] = row
    return table


def run(*, seeds: int) -> Section:
    grid = anyio.run(_grid, seeds)
    section = Section("estimate", data={"seeds": seeds, "shapes": grid})
    for row in grid.values():
        base, aimed = row["backoff"], row["aimed"]
        section.figures.append(
            Figure(
                f"9. sandbox batch {row['tiers']} tiers, done at {row['duration_s']:g} s: aimed vs backoff",
                "polls <= backoff's, delay <= backoff's (medians)",
                f"polls {aimed['polls_median']:g}/{aimed['polls_max']} vs {base['polls_median']:g}/"
                f"{base['polls_max']}, delay {aimed['delay_median_s']}/{aimed['delay_max_s']} s vs "
                f"{base['delay_median_s']}/{base['delay_max_s']} s (median/max)",
                aimed["polls_median"] <= base["polls_median"] and aimed["delay_median_s"] <= base["delay_median_s"],
            )
        )
    return section
