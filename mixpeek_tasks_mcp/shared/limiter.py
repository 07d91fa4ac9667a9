"""The per-key request budget shared by every replica: one atomic Lua call per grant.

``admit`` is the seam the per-key budget (budget/key.py, ``SharedLimiter``) asks once its own log would grant:
a sliding-window log in a sorted set per key (``window:<key fingerprint>``), so the replicas together never
send more than the key's limit in any window, the same rule each replica's own budget keeps. ``try_grant`` is
a token bucket (rate and burst) for callers that think in those terms.

Why Lua: the read-count-add-write must be one step, or two replicas reading the same "1 left" both send.
The scripts run on Redis's clock (``TIME``), so replicas' clocks never matter. The token bucket *reserves*: a
caller that may wait ``max_wait`` seconds gets a token valid ``wait`` seconds from now, so waiting callers
across replicas are served in the order they asked, one operation each; a 429's Retry-After can be shared as
a pause key it honours. Keys are named by hashes of the key (``window:<fingerprint>``, ``budget:<identity>``,
``pause:<identity>``); the log holds at most ``limit`` timestamps; everything expires within a window or so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .link import RedisLink, SharedUnavailable, script

SECONDS_PER_MINUTE: Final = 60.0

GRANT_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
if now < at then now = at end
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
local paused = (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) - now
if paused > wait then wait = paused end
if wait > max_wait then return {0, tostring(wait)} end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(((burst - tokens) / rate + 60) * 1000))
return {1, tostring(wait)}
"""
"""KEYS: bucket, pause. ARGV: tokens per second, burst, most seconds the caller may wait.
Returns {granted (1/0), seconds until the token may be used (or until one could be, when not granted)}."""

WINDOW_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = math.max(1, math.floor(tonumber(ARGV[1])))
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return tostring(math.max(0.001, tonumber(oldest[2]) + window - now))
"""
"""KEYS: the key's grant log. ARGV: limit per window, window seconds (margin included), a unique member.
Returns '0' (granted and logged) or the seconds until the oldest counted grant leaves the window."""

WINDOW_MARGIN: Final = 1.0
"""Seconds added to the window, as the per-key budget does: a grant is stamped before it is sent, the API
counts it when it arrives."""

PAUSE_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if now + seconds > current then
  redis.call('SET', KEYS[1], tostring(now + seconds), 'PX', math.ceil(seconds * 1000) + 1)
end
return 1
"""
"""KEYS: pause. ARGV: seconds. Holds every replica's grants for this key until now + seconds (never shortens)."""


@dataclass(frozen=True)
class Grant:
    granted: bool
    """A token is reserved for the caller, usable after ``wait`` seconds."""
    wait: float
    """Seconds until the reserved token may be used (0 = now), or, when not granted, until one could be."""


class SharedLimiter:
    """Token buckets in Redis, one per key identity, shared by every replica that points at the same Redis."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self._grant = script(link, GRANT_SCRIPT, "budget")
        self._pause = script(link, PAUSE_SCRIPT, "budget")
        self._window = script(link, WINDOW_SCRIPT, "budget")
        self.operations = 0
        self._grants = 0

    async def admit(self, fingerprint: str, *, limit: float, window: float) -> float:
        """0 when one more request of this key may go now across every replica (it is then counted), else the
        seconds until one may. While Redis is away: 0, the replica's own budget alone decides."""
        self.operations += 1
        self._grants += 1
        member = f"{self.link.replica}:{self._grants}"
        try:
            reply = await self._window(
                [self.link.key("window", fingerprint)], [repr(limit), repr(window + WINDOW_MARGIN), member]
            )
            return max(0.0, float(reply))
        except (SharedUnavailable, TypeError, ValueError):
            return 0.0

    async def try_grant(self, identity: str, rate_per_minute: float, burst: float, max_wait: float = 0.0) -> Grant:
        """Reserve one request of ``identity``'s budget if it can go out within ``max_wait`` seconds.

        Raises SharedUnavailable when Redis does not answer within the link's timeout (the caller then uses
        its own per-process budget)."""
        if rate_per_minute <= 0:
            raise ValueError("an unlimited budget needs no shared grant")
        self.operations += 1
        keys = [self.link.key("budget", identity), self.link.key("pause", identity)]
        args = [repr(rate_per_minute / SECONDS_PER_MINUTE), repr(float(max(1.0, burst))), repr(max(0.0, max_wait))]
        reply = await self._grant(keys, args)
        try:
            return Grant(granted=int(reply[0]) == 1, wait=max(0.0, float(reply[1])))
        except (TypeError, ValueError, IndexError):
            raise SharedUnavailable from None  # not our script's answer: treat as a fault

    async def pause(self, identity: str, seconds: float) -> None:
        """Hold ``identity``'s requests on every replica for ``seconds`` (a 429's Retry-After)."""
        if seconds > 0:
            await self._pause([self.link.key("pause", identity)], [repr(float(seconds))])
