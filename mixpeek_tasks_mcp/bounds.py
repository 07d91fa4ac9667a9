"""Size bounds every tool answer keeps, whatever the API returns (issue 13, defect 16).

Fields are clipped first (ids, types, statuses, echoed filters); if the text or the structured content is
still over its bound, an answer shows fewer rows and says so, with a next call that continues from them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from pydantic import BaseModel

MAX_TEXT_CHARS: Final = 25_000
"""Most characters of an answer's text."""
MAX_STRUCTURED_CHARS: Final = 25_000
"""Most characters of an answer's structured content, as JSON."""
MAX_ID_CHARS: Final = 200
"""A task id longer than this is clipped (the tools refuse such ids as arguments anyway)."""
MAX_TYPE_CHARS: Final = 80
"""Task types are at most ~40 characters; a longer one is clipped."""
MAX_STATUS_CHARS: Final = 40
MAX_ECHO_CHARS: Final = 600
"""How much of the caller's filters a page header repeats."""


def clip(text: str, limit: int) -> str:
    """Whitespace collapsed, at most ``limit`` characters (a clipped text ends with …)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def structured_size(model: BaseModel) -> int:
    """Characters of ``model`` as the structured content of a tool result (JSON as sent: non-ASCII
    characters unescaped; None fields left out)."""
    return len(json.dumps(model.model_dump(mode="json", exclude_none=True), ensure_ascii=False))


def within(text: str, model: BaseModel) -> bool:
    return len(text) <= MAX_TEXT_CHARS and structured_size(model) <= MAX_STRUCTURED_CHARS


def most_that_fit(count: int, fits: Callable[[int], bool], least: int = 0) -> int:
    """The largest n in [least, count] with ``fits(n)`` (fitting is monotone: fewer rows, smaller answer);
    ``least`` when none does."""
    if fits(count):
        return count
    low, high = least, count - 1  # answer in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
