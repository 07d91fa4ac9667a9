"""Time as an injectable dependency, so waiting logic is testable without real sleeps."""

from __future__ import annotations

import heapq
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import anyio
import anyio.lowlevel

T = TypeVar("T")


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


MAX_IDLE_TURNS = 10_000


async def _all_tasks_blocked() -> None:
    """Return once every other task waits on something: ``anyio.wait_all_tasks_blocked`` without its 0.1 s real
    sleeps (virtual time runs a 10-minute wait in milliseconds)."""
    import asyncio  # only the virtual clock needs it

    this = asyncio.current_task()
    for _ in range(MAX_IDLE_TURNS):
        await asyncio.sleep(0)
        waiters = [getattr(task, "_fut_waiter", None) for task in asyncio.all_tasks() if task is not this]
        if all(waiter is not None and not waiter.done() for waiter in waiters):
            return


class VirtualClock:
    """Virtual time for tests and the bench, with several sleepers at once (the poller's loop and its waits).

    ``FakeClock`` jumps by each sleep as it comes, which is right for one sleeper only. Here a sleep waits until
    ``advance`` wakes it: once every task is blocked, time jumps to the earliest sleeper still waiting (a
    cancelled sleep leaves nothing behind), so the product's own loops run in the order real time would give,
    without real sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._waiting: set[int] = set()
        self._count = 0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        self._count += 1
        number, event = self._count, anyio.Event()
        heapq.heappush(self._sleepers, (self.time + seconds, number, event))
        self._waiting.add(number)
        try:
            await event.wait()
        finally:
            self._waiting.discard(number)

    async def advance(self) -> bool:
        """Once every task is blocked, wake the earliest sleeper; False when nothing sleeps."""
        await _all_tasks_blocked()
        while self._sleepers and self._sleepers[0][1] not in self._waiting:
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return False
        wake, _, event = heapq.heappop(self._sleepers)
        self.time = max(self.time, wake)
        event.set()
        return True

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` to its end, advancing virtual time whenever everything waits for it."""
        results: list[T] = []
        try:
            async with anyio.create_task_group() as group:

                async def main() -> None:
                    results.append(await work())
                    group.cancel_scope.cancel()

                group.start_soon(main)
                idle = 0
                while True:
                    idle = 0 if await self.advance() else idle + 1
                    if idle > MAX_IDLE_TURNS:
                        raise RuntimeError("virtual time: everything waits and nothing sleeps (a deadlock)")
                    await anyio.lowlevel.checkpoint()
        except BaseExceptionGroup as failed:  # the work's own error, as the work would raise it
            if len(failed.exceptions) == 1:
                raise failed.exceptions[0] from None
            raise
        return results[0]
