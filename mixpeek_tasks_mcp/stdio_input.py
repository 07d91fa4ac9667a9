"""Make every stdio request answerable: repair lone UTF-16 surrogate escapes before the SDK parses a line.

JSON lets a string hold ``"\\ud800"`` (an unpaired surrogate escape). The MCP SDK's stdio reader parses each
line with pydantic, which rejects such a line as invalid JSON; the SDK then cannot tell which request it
was, so it never answers and a client waiting on that id hangs. Python's ``json`` reads those lines, so a
line the fast check flags is decoded here, every lone surrogate is replaced with U+FFFD, and the line is
passed on re-encoded: the request reaches the tools, whose validation answers it.

The SDK reads whatever ``sys.stdin`` is; :func:`repaired_stdin` puts this filter there, and keeps fd 0 on
the null device meanwhile (as the SDK would), so nothing else in the process can read the wire.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def repair_line(line: bytes) -> bytes:
    """The line with lone surrogate escapes replaced by U+FFFD; any other line exactly as it came."""
    if not _SURROGATE_ESCAPE.search(line):
        return line
    try:
        message = json.loads(line)
        repaired = json.dumps(_clean(message), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return line  # not JSON Python reads either: the SDK's own error handling applies
    ending = line[len(line.rstrip(b"\r\n")) :]
    return repaired.encode("utf-8") + (ending or b"\n")


class RepairedLines(io.RawIOBase):
    """A binary stream reading ``source`` line by line through :func:`repair_line`."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            line = self._source.readline()
            if not line:
                return 0
            self._pending = repair_line(line)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@contextmanager
def repaired_stdin() -> Iterator[None]:
    """While inside, ``sys.stdin`` reads the wire through :class:`RepairedLines`."""
    original = sys.stdin
    try:
        wire_fd = os.dup(0)
    except OSError:  # no usable fd 0: leave stdin as it is
        yield
        return
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)
    wire = os.fdopen(wire_fd, "rb")
    sys.stdin = io.TextIOWrapper(io.BufferedReader(RepairedLines(wire)), encoding="utf-8", errors="replace")
    try:
        yield
    finally:
        sys.stdin = original
        os.dup2(wire_fd, 0)
