"""Time as an injectable dependency, so waiting logic is testable without real sleeps."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that advances only when slept on; sleeps return at once."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


async def wait_event(event: anyio.Event, clock: Clock, seconds: float) -> None:
    """Wait for ``event`` at most ``seconds`` of ``clock`` time (the poller's loop, the budget's queue)."""
    if event.is_set() or seconds <= 0:
        return
    async with anyio.create_task_group() as group:

        async def timer() -> None:
            await clock.sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(timer)
        await event.wait()
        group.cancel_scope.cancel()
