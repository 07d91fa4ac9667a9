"""The stdio line filter: lone surrogate escapes repaired, every other line passed through untouched."""

from __future__ import annotations

import io
import json

from mixpeek_tasks_mcp.stdio_input import RepairedLines, repair_line


def test_lines_without_surrogate_escapes_pass_byte_for_byte() -> None:
    for line in (b'{"a": 1}\n', b'{"a": "\\u00e9"}\r\n', b"not json\n", b'{"a": "\xc3\xa9"}'):
        assert repair_line(line) == line
    escaped_backslash = b'{"a": "\\\\ud800"}\n'  # a backslash, then the letters ud800: not an escape
    assert json.loads(repair_line(escaped_backslash)) == json.loads(escaped_backslash)


def test_lone_surrogates_become_replacement_characters_and_pairs_survive() -> None:
    line = b'{"id": 7, "params": {"\\udc00key": ["\\ud800", "\\ud83d\\ude00", 1.5]}}\n'
    repaired = repair_line(line)
    assert repaired.endswith(b"\n")
    assert json.loads(repaired) == {"id": 7, "params": {"\ufffdkey": ["\ufffd", "\U0001f600", 1.5]}}
    repaired.decode("utf-8")  # encodable: no surrogate is left


def test_unreadable_lines_are_left_to_the_sdk() -> None:
    broken = b'{"id": 1, "x": "\\ud800"\n'
    assert repair_line(broken) == broken
    deep = b"[" * 5000 + b'"\\ud800"' + b"]" * 5000 + b"\n"
    assert repair_line(deep) == deep


def test_the_stream_yields_repaired_lines_in_order() -> None:
    source = io.BytesIO(b'{"a": "\\ud800"}\n{"b": 2}\n')
    reader = io.TextIOWrapper(io.BufferedReader(RepairedLines(source)), encoding="utf-8")
    assert [json.loads(line) for line in reader] == [{"a": "\ufffd"}, {"b": 2}]
