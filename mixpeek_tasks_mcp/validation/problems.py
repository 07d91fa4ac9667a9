"""Refusals and the wording helpers that make them actionable."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_PROBLEMS = 8


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
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.tool} refused these arguments (nothing was sent to Mixpeek):"]
        lines += [problem.render() for problem in self.problems]
        return "\n".join(lines)


def values_of(enum: type[Enum]) -> list[str]:
    return [str(member.value) for member in enum]


def accepted(values: Iterable[str]) -> str:
    return "Accepted: " + ", ".join(values) + "."


def did_you_mean(word: str, candidates: Iterable[str], hints: Mapping[str, str] | None = None) -> str:
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


def describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def decode_json_text(value: Any) -> Any:
    """Clients sometimes send an object or list as a JSON string: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
