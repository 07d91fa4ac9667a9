"""A small Dockerfile reader: instructions per stage, JSON (exec) forms and ENV pairs."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """The JSON-array form (``CMD ["a", "b"]``); fails for the shell form."""
        words = json.loads(self.value)
        assert isinstance(words, list) and all(isinstance(w, str) for w in words), self.value
        return words

    def env_pairs(self) -> dict[str, str]:
        words = shlex.split(self.value)
        assert all("=" in w for w in words), f"use ENV KEY=value: {self.value}"
        return dict(w.split("=", 1) for w in words)


def instructions(path: Path) -> list[Instruction]:
    """Instructions in order, continuation lines joined, comments and blank lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"
    result = []
    for line in logical:
        keyword, _, value = line.partition(" ")
        result.append(Instruction(keyword.upper(), value.strip()))
    return result


def stages(path: Path) -> list[list[Instruction]]:
    """Instructions grouped by FROM (each stage starts with its FROM)."""
    grouped: list[list[Instruction]] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            grouped.append([])
        assert grouped, "the first instruction must be FROM"
        grouped[-1].append(instruction)
    return grouped


def healthcheck_command(instruction: Instruction) -> list[str]:
    """The exec-form command of ``HEALTHCHECK [options] CMD [...]``."""
    _, _, command = instruction.value.partition("CMD ")
    return Instruction("CMD", command.strip()).exec_form()
