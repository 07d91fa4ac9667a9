"""The server's own request budget: every call to Mixpeek in this process takes a token first.

A token bucket on the injectable clock. List calls, waits (the shared poller) and scans all draw from it, so
the server slows its own polling instead of earning 429s. A 429's Retry-After pauses it as a whole.
"""

from __future__ import annotations

import math

import anyio

from .clock import Clock
from .observability import hooks as observe

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

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause_until(self, when: float) -> None:
        """Hold every request until ``when`` (a 429's Retry-After: the whole server backs off, not one call)."""
        self._paused_until = max(self._paused_until, when)

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

    async def acquire(self, deadline: float | None = None) -> bool:
        """Take one token, waiting for it (in arrival order); False, without waiting, when it cannot come
        before ``deadline``."""
        if self.unlimited and self._clock.now() >= self._paused_until:
            self.granted += 1
            return True
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
                observe.budget_wait(observe.ALL_KEYS, wait)
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
