"""Aim polls at a task's estimated finish, from what the API tells about its progress.

A geometric backoff cannot give both few polls and a small detection delay (docs/benchmarks.md). But a tiered
batch says how far it is (``current_tier``/``total_tiers``), and a queued task may say its ``queue_position``
and ``estimated_wait_minutes``. From those over time this estimates when the task will finish (or start), and
the poll schedule aims at that moment: evenly spaced steps no longer than the cap that land on it, and never
longer than the backoff's own next step: an estimate may bring a poll earlier, never later (a 7-minute queue
estimate on a task that finished at 4 s once delayed its detection to 22 s). An estimate
from tier boundaries seen between sparse polls tends to come early; once it has passed, the steps grow from a
quarter of the time per tier (``LATE_START``), not from the floor: restarting at 1 s after every early estimate
is what made aiming cost up to 8 more polls than the backoff (bench/estimate_bench.py, docs/benchmarks.md).
Without an estimate the plain backoff applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..coerce import as_int, as_number
from ..models import TaskResponse

FLOOR_SECONDS = 1.0
"""Never two polls of one task closer than this."""
LATE_FACTOR = 1.5
"""Growth of the steps after an estimate has passed without the task finishing."""
MAX_BOUNDARIES = 16
"""Tier starts remembered per task (bounded memory)."""
MIN_ESTIMATE_AHEAD = 0.5
"""An estimate closer than this (seconds) is treated as passed."""
LATE_START = 0.25
"""Once the estimate has passed, the first step is this fraction of the time per tier (at least the floor)."""


@dataclass
class FinishEstimator:
    """Observations of one task, in time order, turned into an estimated finish (or start) time."""

    cap: float = 30.0
    floor: float = FLOOR_SECONDS
    _boundaries: list[tuple[int, float]] = field(default_factory=list)
    _last_at: float | None = None
    _last_tier: int | None = None
    _total: int | None = None
    _queue: tuple[float, int] | None = None
    _start: float | None = None
    _late_steps: int = 0
    _aimed_at: float | None = None

    def observe(self, task: TaskResponse, at: float) -> None:
        data = task.additional_data or {}
        total = as_int(data.get("total_tiers"))
        tier = as_int(data.get("current_tier"))
        running = task.status in ("IN_PROGRESS", "PROCESSING")
        if running and tier is None and total is not None:
            tier = 0
        if total is not None and total > 0:
            self._total = total
        if running and tier is not None:
            before = self._last_tier
            if self._last_at is not None and (before is None or tier > before):
                # the tier started somewhere between the previous observation and this one
                self._boundaries.append((tier, (self._last_at + at) / 2))
                del self._boundaries[:-MAX_BOUNDARIES]
            self._last_tier = tier
        elif not running:
            self._last_tier = None
        self._observe_queue(task, at)
        self._last_at = at

    def _observe_queue(self, task: TaskResponse, at: float) -> None:
        if task.status not in ("PENDING", "QUEUED"):
            self._start, self._queue = None, None
            return
        minutes = as_number(task.estimated_wait_minutes)
        position = as_int(task.queue_position)
        start = at + minutes * 60 if minutes is not None and minutes >= 0 else None
        if position is not None:
            if self._queue is not None and position < self._queue[1] and at > self._queue[0]:
                per_place = (at - self._queue[0]) / (self._queue[1] - position)
                start = at + position * per_place if start is None else min(start, at + position * per_place)
            if self._queue is None or position != self._queue[1]:
                self._queue = (at, position)
        self._start = start

    def per_tier(self) -> float | None:
        """Seconds per tier from the first and last tier starts seen; None until two are known."""
        if self._total is None or len(self._boundaries) < 2 or self._last_tier is None:
            return None
        (first_tier, first_at), (last_tier, last_at) = self._boundaries[0], self._boundaries[-1]
        if last_tier <= first_tier:
            return None
        return (last_at - first_at) / (last_tier - first_tier)

    def finish_estimate(self) -> float | None:
        """When the task should finish: two tier starts give the time per tier; None until then."""
        per_tier = self.per_tier()
        if per_tier is None or self._total is None:
            return None
        last_tier, last_at = self._boundaries[-1]
        return last_at + max(self._total - last_tier, 0) * per_tier

    def target(self) -> float | None:
        """The moment worth a poll: the estimated finish, else the estimated start of a queued task."""
        return self.finish_estimate() or self._start

    def next_delay(self, now: float, backoff_delay: float) -> float:
        """The delay before the next poll: aimed at the target when that comes sooner, never later than
        ``backoff_delay`` (an estimate can be wrong; a queue that moves faster than it said must still be seen
        on the backoff's schedule)."""
        target = self.target()
        if target is None:
            self._late_steps, self._aimed_at = 0, None
            return backoff_delay
        ahead = target - now
        if ahead >= MIN_ESTIMATE_AHEAD:
            self._late_steps, self._aimed_at = 0, target
            steps = math.ceil(ahead / self.cap)
            return min(backoff_delay, self.cap, max(self.floor, ahead / steps))
        # the estimate has passed: steps growing from a fraction of the time per tier, never beyond the cap
        start = max(self.floor, LATE_START * (self.per_tier() or 0.0))
        delay = min(self.cap, start * LATE_FACTOR**self._late_steps)
        self._late_steps += 1
        return min(delay, max(backoff_delay, self.floor))
