"""A wait loop of its own (fetch, sleep, repeat): only tests/core/test_waiting.py and bench/polling.py drive it.

The product waits through the shared poller (``follow.wait_one``); this loop predates it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Collection

from ..client import MixpeekError
from ..clock import Clock
from ..models import TaskResponse
from .rules import WaitOutcome, is_transient, settled
from .schedule import Backoff

DEFAULT_BACKOFF = Backoff()
Fetch = Callable[[float], Awaitable[TaskResponse]]
OnPoll = Callable[[TaskResponse, float, int], Awaitable[None]]


async def wait_for_task(
    fetch: Fetch,
    *,
    budget: float,
    clock: Clock,
    backoff: Backoff = DEFAULT_BACKOFF,
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
