"""Poll a task with exponential backoff until it finishes or the time budget runs out."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from .client import MissingApiKeyError, MixpeekError, TaskNotFoundError
from .clock import Clock
from .models import TaskResponse
from .statuses import StatusClass, classify, is_final


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: initial * factor**n, +-jitter, never above cap (Mixpeek suggests 1 s -> 30 s)."""

    initial: float = 1.0
    factor: float = 1.5
    cap: float = 30.0
    jitter: float = 0.1

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.initial * self.factor**attempt)
        return min(self.cap, base * (1 + self.jitter * (2 * rng() - 1)))


@dataclass
class WaitOutcome:
    task: TaskResponse
    outcome: str
    polls: int
    waited: float
    last_error: str | None = None
    next_attempt: int = 0
    """Where the backoff had got to: a follow-up wait on the same task can resume from here."""


class BackoffMemory:
    """Where each task's backoff had got to when a wait ran out of budget.

    An agent keeps waiting on a long task by calling again every 45 s or so; restarting at 1 s each time would
    poll a 5-minute task ~60 times instead of ~20. Entries are few and small; the oldest go first, and an
    entry not used for ``forget_after`` seconds no longer applies.
    """

    def __init__(self, clock: Clock, *, max_entries: int = 1024, forget_after: float = 1800.0) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._forget_after = forget_after
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def resume(self, task_id: str) -> int:
        entry = self._entries.get(task_id)
        if entry is None or self._clock.now() - entry[1] > self._forget_after:
            return 0
        return entry[0]

    def remember(self, task_id: str, attempt: int) -> None:
        self._entries[task_id] = (attempt, self._clock.now())
        self._entries.move_to_end(task_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, task_id: str) -> None:
        self._entries.pop(task_id, None)


Fetch = Callable[[float], Awaitable[TaskResponse]]
OnPoll = Callable[[TaskResponse, float, int], Awaitable[None]]


def outcome_of(status_class: StatusClass) -> str:
    return {
        StatusClass.SUCCESS: "success",
        StatusClass.PARTIAL: "partial",
        StatusClass.FAILURE: "failure",
        StatusClass.STALLED: "stalled",
    }.get(status_class, "timed_out")


def settled(task: TaskResponse, stop_statuses: Collection[str]) -> str | None:
    """The outcome that ends a wait on this observation of the task (a final status, or one waited for)."""
    status_class = classify(task.status)
    if is_final(status_class):
        return outcome_of(status_class)
    return "reached" if task.status in stop_statuses else None


def is_transient(error: MixpeekError) -> bool:
    """Upstream trouble worth polling through (rate limits, 5xx, network), not a bad key or missing task."""
    if isinstance(error, TaskNotFoundError | MissingApiKeyError):
        return False
    return error.status is None or error.status == 429 or error.status >= 500


async def wait_for_task(
    fetch: Fetch,
    *,
    budget: float,
    clock: Clock,
    backoff: Backoff = Backoff(),
    rng: Callable[[], float] = random.random,
    stop_statuses: Collection[str] = (),
    on_poll: OnPoll | None = None,
    first_attempt: int = 0,
) -> WaitOutcome:
    """Poll until a final status, a ``stop_statuses`` status, or the deadline (with a last check at it).

    The first check is immediate; the delays after it continue the backoff from ``first_attempt``.
    """
    start = clock.now()
    deadline = start + budget
    polls = 0
    attempt = first_attempt
    last_task: TaskResponse | None = None
    last_error: MixpeekError | None = None
    while True:
        try:
            task = await fetch(deadline)
        except MixpeekError as error:
            if not is_transient(error):
                raise
            last_error = error
        else:
            last_task, last_error = task, None
            polls += 1
            elapsed = clock.now() - start
            if on_poll is not None:
                await on_poll(task, elapsed, polls)
            outcome = settled(task, stop_statuses)
            if outcome is not None:
                return WaitOutcome(task, outcome, polls, elapsed)
        remaining = deadline - clock.now()
        if remaining <= 0:
            if last_task is None:
                assert last_error is not None
                raise last_error
            note = str(last_error) if last_error is not None else None
            return WaitOutcome(last_task, "timed_out", polls, clock.now() - start, note, next_attempt=attempt)
        await clock.sleep(min(backoff.delay(attempt, rng), remaining))
        attempt += 1
