"""The server's own request budget: every call to Mixpeek in this process takes a token first.

A token bucket on the injectable clock. List calls, waits (the shared poller) and scans all draw from it, so
the server slows its own polling instead of earning 429s. A 429's Retry-After pauses it as a whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import TYPE_CHECKING

import anyio

from .clock import Clock

if TYPE_CHECKING:  # shared/ is imported only when MIXPEEK_REDIS_URL is set
    from .shared.limiter import SharedLimiter

SECONDS_PER_MINUTE = 60.0


class RequestBudget:
    """``per_minute`` requests a minute on average, at most ``burst`` back to back; ``per_minute <= 0`` is
    unlimited (a Retry-After pause still applies)."""

    def __init__(self, per_minute: float, *, burst: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self.capacity = float(max(1, burst))
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock.now()
        self._paused_until = -math.inf
        self._lock = anyio.Lock()
        self.granted = 0
        self.waited_seconds = 0.0
        self.shared: SharedLimiter | None = None
        """Every replica's budget for a key in one Redis bucket (shared/limiter.py); this one when Redis is down."""
        self._pauses: set[asyncio.Task[None]] = set()

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause_until(self, when: float, identity: str | None = None) -> None:
        """Hold every request until ``when`` (a 429's Retry-After: the whole server backs off, not one call),
        and, with a shared limiter, every replica's requests of that key."""
        self._paused_until = max(self._paused_until, when)
        if self.shared is not None and identity is not None:
            task = asyncio.get_running_loop().create_task(self._share_pause(identity, when - self._clock.now()))
            self._pauses.add(task)
            task.add_done_callback(self._pauses.discard)

    async def _share_pause(self, identity: str, seconds: float) -> None:
        from .shared.link import SharedUnavailable

        if self.shared is not None:
            with contextlib.suppress(SharedUnavailable):
                await self.shared.pause(identity, seconds)

    async def _acquire_shared(self, shared: SharedLimiter, identity: str, deadline: float | None) -> bool | None:
        """One reserving grant from the replicas' common bucket, then the wait it names; None if Redis is down."""
        from .shared.link import SharedUnavailable

        now = self._clock.now()
        if now < self._paused_until and deadline is not None and self._paused_until > deadline:
            return False
        max_wait = (deadline - now) if deadline is not None else 3600.0
        try:
            grant = await shared.try_grant(identity, self.per_minute, self.capacity, max_wait=max(0.0, max_wait))
        except SharedUnavailable:
            return None
        if not grant.granted:
            return False
        wait = max(grant.wait, self._paused_until - self._clock.now())
        if wait > 0:
            self.waited_seconds += wait
            await self._clock.sleep(wait)
        self.granted += 1
        return True

    def _refill(self, now: float) -> None:
        if not self.unlimited:
            rate = self.per_minute / SECONDS_PER_MINUTE
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * rate)
        self._updated = now

    def _wait_needed(self, now: float) -> float:
        wait = max(0.0, self._paused_until - now)
        if not self.unlimited and self._tokens < 1:
            wait = max(wait, (1 - self._tokens) / (self.per_minute / SECONDS_PER_MINUTE))
        return wait

    async def acquire(self, deadline: float | None = None, identity: str | None = None) -> bool:
        """Take one token, waiting for it (in arrival order); False, without waiting, when it cannot come
        before ``deadline``. With a shared limiter, ``identity``'s token comes from the replicas' common bucket
        (this process's bucket only while Redis is down)."""
        if self.unlimited and self._clock.now() >= self._paused_until:
            self.granted += 1
            return True
        if self.shared is not None and identity is not None and not self.unlimited:
            shared = await self._acquire_shared(self.shared, identity, deadline)
            if shared is not None:
                return shared
        async with self._lock:
            while True:
                now = self._clock.now()
                self._refill(now)
                wait = self._wait_needed(now)
                if wait <= 0:
                    if not self.unlimited:
                        self._tokens -= 1
                    self.granted += 1
                    return True
                if deadline is not None and now + wait > deadline:
                    return False
                self.waited_seconds += wait
                await self._clock.sleep(wait)

    def ready_in(self) -> float:
        """Seconds until a request could go out (a pause still running, or the next token)."""
        now = self._clock.now()
        self._refill(now)
        return self._wait_needed(now)

    def describe(self) -> str:
        if self.unlimited:
            return "unlimited"
        return f"{self.per_minute:g} requests/min, bursts of {self.capacity:g}"
