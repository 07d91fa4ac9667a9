"""Which active tasks look stalled, and why: only what the data supports.

Three kinds of evidence, each stated in the reason:
- timestamps (when the API returns them): queued far longer than the other queued tasks or past its own
  estimated wait; running with no update for a long time;
- an earlier observation by this server: the same status and tier as a triage (or wait) saw minutes ago;
- nothing: then the answer says it cannot tell, rather than guessing.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..output import StuckTask

if TYPE_CHECKING:  # only for annotations: judging stalls needs no signature machinery at start-up
    from ..shared.progress import SharedProgress
    from .tally import ActiveTask

MAX_STUCK = 10
QUEUE_STATUSES = frozenset({"PENDING", "QUEUED"})
MIN_QUEUED_SECONDS = 30 * 60
"""A queued task is never called stuck before this, however quick the others are."""
QUEUED_FACTOR = 4.0
"""...and only when it has waited this many times the median of the other queued tasks."""
IDLE_SECONDS = 30 * 60
"""A running task with no update for this long looks stalled (Mixpeek tiers heartbeat about every 10 s)."""
OVERDUE_GRACE_SECONDS = 30 * 60
NO_PROGRESS_SECONDS = 10 * 60
"""Same status and tier as an observation at least this old: no progress."""


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86_400} d {seconds % 86_400 // 3600} h"


@dataclass(frozen=True)
class Observation:
    state: tuple[str, tuple[int, int] | None]
    since: float


class ProgressMemory:
    """The last state this server saw each active task in, and since when (monotonic seconds); bounded."""

    def __init__(self, max_entries: int = 5_000) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Observation] = OrderedDict()
        self.shared: SharedProgress | None = None
        """The replicas' common memory (shared/progress.py), when they share a Redis."""

    def get(self, task_id: str) -> Observation | None:
        return self._entries.get(task_id)

    def seed(self, task_id: str, state: tuple[str, tuple[int, int] | None], since: float) -> None:
        """What another replica saw (shared/progress.py): it replaces this replica's own, older view."""
        self._entries[task_id] = Observation(state, since)
        self._entries.move_to_end(task_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def observe(self, task: ActiveTask, now: float) -> float | None:
        """Record the task's state; return how long it has been in it if an earlier observation saw the same."""
        state = (task.status, task.tier)
        previous = self._entries.get(task.task_id)
        if previous is not None and previous.state == state:
            self._entries.move_to_end(task.task_id)
            return now - previous.since
        self._entries[task.task_id] = Observation(state, now)
        self._entries.move_to_end(task.task_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return None

    def __len__(self) -> int:
        return len(self._entries)


def _tier_text(task: ActiveTask) -> str:
    return f" at tier {task.tier[0]}/{task.tier[1]}" if task.tier else ""


def find_stuck(
    active: list[ActiveTask], *, wall_now: datetime, now: float, memory: ProgressMemory
) -> tuple[list[StuckTask], int, str | None]:
    """The stuck-looking tasks (worst first, at most MAX_STUCK), how many there were, and what could not be told."""
    queued_ages = [
        (wall_now - task.created).total_seconds()
        for task in active
        if task.status in QUEUE_STATUSES and task.created is not None
    ]
    median_queued = statistics.median(queued_ages) if queued_ages else None
    found: list[tuple[float, StuckTask]] = []
    judged = 0
    for task in active:
        reason, severity = _judge(task, wall_now, median_queued, len(queued_ages))
        unchanged_for = memory.observe(task, now)
        if reason is None and unchanged_for is not None and unchanged_for >= NO_PROGRESS_SECONDS:
            reason = (
                f"no progress: still {task.status}{_tier_text(task)}, as this server saw it "
                f"{duration(unchanged_for)} ago"
            )
            severity = unchanged_for
        if task.created is not None or task.updated is not None or unchanged_for is not None:
            judged += 1
        if reason is not None:
            found.append((severity, _row(task, reason)))
    found.sort(key=lambda item: item[0], reverse=True)
    note = None
    if active and judged < len(active):
        note = (
            f"{len(active) - judged} of {len(active)} active tasks could not be judged: the API returned no "
            "created_at/updated_at for them and this server has not seen them before. Call triage_tasks again in "
            "a few minutes to compare their progress."
        )
    return [row for _, row in found[:MAX_STUCK]], len(found), note


def _judge(
    task: ActiveTask, wall_now: datetime, median_queued: float | None, queued_seen: int
) -> tuple[str | None, float]:
    if task.status in QUEUE_STATUSES and task.created is not None:
        age = (wall_now - task.created).total_seconds()
        if task.estimated_wait_minutes is not None:
            overdue = age - task.estimated_wait_minutes * 60
            if overdue >= OVERDUE_GRACE_SECONDS:
                return (
                    f"{task.status} for {duration(age)}, {duration(overdue)} past its estimated "
                    f"{duration(task.estimated_wait_minutes * 60)} wait",
                    age,
                )
        far_longer = median_queued is not None and queued_seen > 1 and age >= QUEUED_FACTOR * median_queued
        if age >= MIN_QUEUED_SECONDS and far_longer:
            return (
                f"{task.status} for {duration(age)}; the {queued_seen} queued tasks scanned waited a median "
                f"of {duration(median_queued or 0)}",
                age,
            )
    if task.status not in QUEUE_STATUSES and task.updated is not None:
        idle = (wall_now - task.updated).total_seconds()
        if idle >= IDLE_SECONDS:
            return f"{task.status}{_tier_text(task)} with no update for {duration(idle)} (updated_at)", idle
    return None, 0.0


def _row(task: ActiveTask, reason: str) -> StuckTask:
    return StuckTask(
        task_id=task.task_id,
        task_type=task.task_type,
        status=task.status,
        reason=reason,
        tier=f"{task.tier[0]}/{task.tier[1]}" if task.tier else None,
        queue_position=task.queue_position,
        created_at=task.created.isoformat(timespec="seconds") if task.created else None,
        updated_at=task.updated.isoformat(timespec="seconds") if task.updated else None,
    )
