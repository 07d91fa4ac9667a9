"""Refusals and the wording helpers that make them actionable.

Everything a refusal echoes back is bounded: values are quoted as a short prefix (``MAX_ECHO`` characters),
a refusal lists at most ``MAX_PROBLEMS`` problems in at most ``MAX_REFUSAL_CHARS`` characters, and lone
UTF-16 surrogates are written as escapes (they cannot be encoded as UTF-8, so a transport would drop them).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_PROBLEMS = 8
MAX_ECHO = 60
"""The longest quotation of an agent's value in a refusal: enough to recognize it, never a hostile megabyte."""
MAX_REFUSAL_CHARS = 2000
"""Every refusal, all its problems together, fits in this many characters."""
MAX_JSON_TEXT = 100_000
"""The longest JSON text decoded when a client sends an object or list as a string."""
MAX_JSON_DEPTH = 32
"""The deepest nesting decoded in such a JSON text; filters themselves nest at most 5 groups."""
MAX_DIGITS = 20
"""Digit strings and integers longer than this are refused (and described by their length) unread."""


def printable(text: str) -> str:
    """The text with lone surrogates written as ``\\udXXX`` escapes, so it encodes as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def render(self) -> str:
        return f"- {self.path}: {self.message}" if self.path else f"- {self.message}"


class InvalidArguments(Exception):
    """The arguments were refused; nothing was sent to Mixpeek."""

    def __init__(self, tool: str, problems: list[Problem]) -> None:
        self.tool = tool
        self.problems = problems[:MAX_PROBLEMS]
        self.left_out = len(problems) - len(self.problems)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.tool} refused these arguments (nothing was sent to Mixpeek):"]
        used = len(lines[0])
        left_out = self.left_out
        for index, problem in enumerate(self.problems):
            line = printable(problem.render())
            room = MAX_REFUSAL_CHARS - 80 - used
            if len(line) > room:
                if index == 0:  # the first problem is always shown, clipped if it must be
                    line = line[: max(room - 3, 0)] + "..."
                else:
                    left_out += len(self.problems) - index
                    break
            lines.append(line)
            used += len(line) + 1
        if left_out:
            lines.append(f"- ... and {left_out} more problem{'s' if left_out != 1 else ''}: fix these first.")
        return "\n".join(lines)


def values_of(enum: type[Enum]) -> list[str]:
    return [str(member.value) for member in enum]


def accepted(values: Iterable[str]) -> str:
    return "Accepted: " + ", ".join(values) + "."


def did_you_mean(word: str, candidates: Iterable[str], hints: Mapping[str, str] | None = None) -> str:
    if len(word) > MAX_ECHO:
        return ""  # no near miss is that long, and difflib is quadratic
    key = word.strip().lower()
    if hints and key in hints:
        return f" Did you mean {hints[key]!r}?"
    matches = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not matches:
        lowered = {candidate.lower(): candidate for candidate in candidates}
        matches = [lowered[m] for m in difflib.get_close_matches(key, list(lowered), n=3, cutoff=0.6)]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def quote(text: str) -> str:
    """A string as ``'...'``, clipped to a short prefix, lone surrogates escaped."""
    if len(text) <= MAX_ECHO:
        return printable(repr(text))
    return printable(repr(text[: MAX_ECHO - 3])) + f"... ({len(text)} characters)"


def segment(key: Any) -> str:
    """An object key as a path segment: as written when it is a short name, else quoted and clipped."""
    text = str(key)
    if len(text) <= MAX_ECHO and text.isprintable() and not any(c in text for c in "'\"[] "):
        return printable(text)
    return f"[{quote(text)}]"


def number_text(value: int | float) -> str:
    """A number as text, bounded: huge integers by their digit count, floats in their shortest form."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if abs(value) < 10**MAX_DIGITS:
        return str(value)
    return f"a {int(abs(value).bit_length() * math.log10(2)) + 1}-digit number"


def describe(value: Any) -> str:
    """A short JSON-ish preview of any value: at most about ``MAX_ECHO`` characters, never raises."""
    text = _preview(value, MAX_ECHO, 3)
    return text if len(text) <= MAX_ECHO + 24 else text[: MAX_ECHO - 3] + "..."


def _preview(value: Any, budget: int, depth: int) -> str:
    if isinstance(value, str):
        clipped = value[: budget + 1]
        text = printable(json.dumps(clipped))
        return text if len(value) <= budget else text[: budget - 3] + '..."'
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, list | tuple | dict):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if depth <= 0:
            return f"{opening}...{closing}"
        parts: list[str] = []
        used = 2
        entries = list(value.items())[:8] if isinstance(value, dict) else list(value[:8])
        for entry in entries:
            if isinstance(entry, tuple):
                part = _preview(str(entry[0]), 20, 0) + ": " + _preview(entry[1], budget // 2, depth - 1)
            else:
                part = _preview(entry, budget // 2, depth - 1)
            if used + len(part) > budget:
                break
            parts.append(part)
            used += len(part) + 2
        if len(parts) < len(value):
            parts.append(f"... {len(value)} in all")
        return opening + ", ".join(parts) + closing
    return f"a {type(value).__name__}"


class UndecodableJSON(ValueError):
    """A JSON text too large or too deeply nested to decode; the message says which."""


def json_depth(text: str, limit: int) -> int:
    """The bracket nesting depth of a JSON text (strings skipped), counting no further than ``limit + 1``."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def decode_json_text(value: Any) -> Any:
    """Clients sometimes send an object or list as a JSON string: decode it.

    Raises UndecodableJSON for texts over ``MAX_JSON_TEXT`` characters or nested deeper than
    ``MAX_JSON_DEPTH``; a text that is not JSON is returned as it is (the caller refuses its type).
    """
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        if len(value) > MAX_JSON_TEXT:
            raise UndecodableJSON(
                f"is a JSON text of {len(value)} characters; the most decoded is {MAX_JSON_TEXT}. "
                "Send the object itself, and fewer values."
            )
        if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise UndecodableJSON(
                f"is a JSON text nested more than {MAX_JSON_DEPTH} levels deep; no argument nests that deep "
                "(filters: at most 5 groups)."
            )
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def child(path: str, key: Any) -> str:
    """The path of ``key`` inside ``path``: ``filters.AND``, or ``filters['a b']`` for an odd key."""
    name = segment(key)
    if name.startswith("["):
        return f"{path}{name}"
    return f"{path}.{name}" if path else name


def has_surrogate(text: str) -> bool:
    """Whether the text holds a lone UTF-16 surrogate: not Unicode text, and not encodable as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
