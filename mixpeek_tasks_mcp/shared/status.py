"""Whether this process shares state through Redis, and whether Redis is reachable right now.

A plain module (no Redis import): /healthz and gauges (OpenTelemetry, issue 21) read it on every call.
"""

from __future__ import annotations

from typing import Literal

RedisStatus = Literal["off", "up", "down"]

_status: RedisStatus = "off"


def redis_status() -> RedisStatus:
    """``off`` without MIXPEEK_REDIS_URL; else ``up`` or ``down`` as the last Redis operation found it."""
    return _status


def redis_up() -> bool | None:
    """True when Redis is in use and reachable, False when in use and down, None when not configured."""
    return None if _status == "off" else _status == "up"


def set_status(status: RedisStatus) -> None:
    """For the link only (shared/link.py)."""
    global _status
    _status = status
