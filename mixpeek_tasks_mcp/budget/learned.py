"""What Mixpeek says about a key's rate limit, read off each response.

Mixpeek's docs show ``X-RateLimit-Limit`` (requests per window), ``X-RateLimit-Window`` (seconds),
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (unix seconds: when the oldest counted request leaves the
window) on responses, and ``Retry-After`` on 429s (reference §9.3). Its published tiers disagree (10 vs 60 rpm on
Free, 60 vs 600 on Pro), so the number on the wire is the one to believe. Every value is untrusted: anything
that is not a sane number is ignored, never an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_LIMIT = 1_000_000
"""A larger advertised limit is read as this (it is "no practical limit" either way)."""
MAX_WINDOW_SECONDS = 86_400.0
MAX_RESET_SECONDS = 3_600.0
"""A reset further away than this is read as this: an hour is already "not now"."""
UNIX_SECONDS_FLOOR = 1_000_000_000
"""Smaller Reset values are read as seconds from now (some APIs send a delta, not a time)."""
_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_WINDOW_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


@dataclass(frozen=True)
class RateLimitAdvice:
    """One response's word on the key's limit; None where the response said nothing (or nonsense)."""

    limit: int | None = None
    window: float | None = None
    remaining: int | None = None
    reset_in: float | None = None
    """Seconds from now until Remaining grows again."""

    @property
    def empty(self) -> bool:
        return self.limit is None and self.remaining is None and self.reset_in is None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def window_seconds(text: str | None) -> float | None:
    """'60', '60s', '1m' or '1h' as seconds (the header is documented in seconds; bodies say '1m')."""
    if text is None:
        return None
    match = _WINDOW_TEXT.match(text.lower())
    if match is None or match.group(2) not in ("", *_UNITS):
        return None
    seconds = float(match.group(1)) * _UNITS.get(match.group(2), 1.0)
    return min(seconds, MAX_WINDOW_SECONDS) if seconds > 0 else None


def read_advice(headers: Mapping[str, str], *, wall_now: float) -> RateLimitAdvice:
    """The X-RateLimit-* headers of one response, as numbers (``wall_now``: time.time() when it arrived)."""
    limit = _number(headers.get("x-ratelimit-limit"))
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    reset_in: float | None = None
    if reset is not None:
        reset_in = reset - wall_now if reset >= UNIX_SECONDS_FLOOR else reset
        reset_in = min(max(reset_in, 0.0), MAX_RESET_SECONDS)
    return RateLimitAdvice(
        limit=min(int(limit), MAX_LIMIT) if limit is not None and limit >= 1 else None,
        window=window_seconds(headers.get("x-ratelimit-window")),
        remaining=min(int(remaining), MAX_LIMIT) if remaining is not None else None,
        reset_in=reset_in,
    )
