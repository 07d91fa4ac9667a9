"""Per-key rate limits the way Mixpeek advertises and enforces them.

Mixpeek counts requests per API key (SlowAPI counters) and says so on every response: ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Window`` (seconds) and ``X-RateLimit-Reset`` (unix seconds), with
``Retry-After`` on a 429 (reference §9.3). The sandbox does the same with a moving window per key, so a client
that learns its pace from the headers can be checked against the strictest reading of "never more than the
limit in any window": the sandbox refuses the first request that would break it.

``X-RateLimit-Reset`` is when the oldest request counted in the window leaves it: the earliest moment
``Remaining`` grows again. A refused request is not counted (it did no work).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from .faults import RateDecision

DEFAULT_RPM = 600
"""Mixpeek's Pro tier on /operations/rate-limits-quotas: what the sandbox advertises unless told otherwise."""
DEFAULT_WINDOW = 60.0


class RateLimitSpec(BaseModel):
    """Body of ``POST /_sandbox/rate-limit``: the limit every key gets from now on (``rpm: null`` = none)."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=DEFAULT_RPM, ge=1, le=1_000_000)
    window: float = Field(default=DEFAULT_WINDOW, gt=0, le=3600)
    headers: bool = Field(default=True, description="Send the X-RateLimit-* headers (False: only 429s tell).")


def window_text(seconds: float) -> str:
    """How Mixpeek's error details write a window: ``"1m"``, ``"30s"``."""
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"


@dataclass
class _KeyWindow:
    hits: deque[float]


class KeyLimits:
    """One moving window per API key. Keys are the sandbox's configured ones (auth runs first), so the table
    stays as small as that list."""

    def __init__(self, spec: RateLimitSpec, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._spec = spec
        self._windows: dict[str, _KeyWindow] = {}

    @property
    def spec(self) -> RateLimitSpec:
        with self._lock:
            return self._spec.model_copy()

    def configure(self, spec: RateLimitSpec) -> RateLimitSpec:
        """A new limit for every key; the counts start afresh."""
        with self._lock:
            self._spec = spec
            self._windows.clear()
            return spec.model_copy()

    def hit(self, key: str) -> RateDecision:
        """Count one request of ``key``, or refuse it with the seconds until the window has room."""
        with self._lock:
            spec = self._spec
            if spec.rpm is None:
                return RateDecision(False)
            now = self._clock()
            hits = self._windows.setdefault(key, _KeyWindow(deque())).hits
            while hits and hits[0] <= now - spec.window:
                hits.popleft()
            limited = len(hits) >= spec.rpm
            if not limited:
                hits.append(now)
            reset = hits[0] + spec.window
            headers: dict[str, str] = {}
            if spec.headers:
                headers = {
                    "X-RateLimit-Limit": str(spec.rpm),
                    "X-RateLimit-Remaining": str(max(0, spec.rpm - len(hits))),
                    "X-RateLimit-Window": f"{spec.window:g}",
                    "X-RateLimit-Reset": str(math.ceil(reset)),
                }
            return RateDecision(limited, max(1, math.ceil(reset - now)) if limited else 0, headers)

    def details(self) -> dict[str, object]:
        """What a 429's error details say about the limit (Mixpeek: ``{"limit": 600, "window": "1m"}``)."""
        spec = self.spec
        return {"limit": spec.rpm, "window": window_text(spec.window)}
