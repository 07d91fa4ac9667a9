"""Lenient reading of numbers and times from JSON-ish values (agents send "20", APIs send 3.0)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

_INTEGER_TEXT = re.compile(r"\s*-?\d+\s*")
MAX_INTEGER_TEXT = 40
"""Longer digit strings are not read as numbers (Python refuses to parse over 4,300 digits anyway)."""


def is_number(value: Any) -> bool:
    """A finite int or float, and not a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def as_int(value: Any, *, from_text: bool = False) -> int | None:
    """An integer from an int or an integral float (and, with ``from_text``, a digit string); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if from_text and isinstance(value, str) and len(value) <= MAX_INTEGER_TEXT and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    return None


def as_number(value: Any) -> float | None:
    """A finite number as float; else None."""
    return float(value) if is_number(value) else None


def as_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (or epoch seconds) from the API, as an aware UTC datetime; None if unreadable."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str) and 10 <= len(value) <= 40:
            moment = datetime.fromisoformat(value.strip())
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
