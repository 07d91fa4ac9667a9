"""SQLite storage of tasks: indexed columns for the hot fields plus the whole TaskResponse as JSON.

One connection guarded by a re-entrant lock serves the HTTP handlers and the simulator thread alike.
File databases use WAL. ``created_at``/``updated_at`` are fixed-width ISO-8601 UTC strings (see
``timeutil``), so they sort and compare as text.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .textmatch import phrase_match, words_match
from .timeutil import now_iso

SqlParam = str | int | float | None

INDEXED_JSON_PATHS = (
    "$.additional_data.bucket_id",
    "$.additional_data.batch_id",
    "$.additional_data.namespace_id",
)
ORDERED_JSON_PATHS = ("$.additional_data.object_count",)
"""JSON paths with a plain (binary) expression index, so sorting by them walks an index."""
"""JSON paths with a case-insensitive expression index (the hot filters of a task list)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_tasks_task_id_nocase ON tasks(task_id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS ix_tasks_created ON tasks(created_at, task_id);
CREATE INDEX IF NOT EXISTS ix_tasks_updated ON tasks(updated_at, task_id);
CREATE INDEX IF NOT EXISTS ix_tasks_status ON tasks(status COLLATE NOCASE, created_at, task_id);
CREATE INDEX IF NOT EXISTS ix_tasks_type ON tasks(task_type COLLATE NOCASE, created_at, task_id);
"""


@dataclass(frozen=True)
class TaskRecord:
    """One stored task: the TaskResponse document plus its timestamps."""

    doc: dict[str, Any]
    created_at: str
    updated_at: str

    @property
    def task_id(self) -> str:
        return str(self.doc["task_id"])


@dataclass(frozen=True)
class Row:
    """A listed row: the raw JSON document, its id, the value of the sort key and its timestamps."""

    doc_json: str
    task_id: str
    sort_value: SqlParam
    created_at: str
    updated_at: str

    def json(self, timestamps: bool) -> str:
        return with_timestamps(self.doc_json, self.created_at, self.updated_at) if timestamps else self.doc_json


def with_timestamps(doc_json: str, created_at: str, updated_at: str) -> str:
    """The stored document with ``created_at``/``updated_at`` added, spliced in without a JSON round trip.

    Stored documents are JSON objects (so they end with ``}``) and never hold these keys themselves
    (they live in their own columns); the timestamps are fixed-format ISO strings needing no escaping.
    """
    return f'{doc_json[:-1]},"created_at":"{created_at}","updated_at":"{updated_at}"}}'


@lru_cache(maxsize=256)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


def _regexp(pattern: str | None, value: object) -> bool:
    if pattern is None or not isinstance(value, str):
        return False
    return _compile(pattern, False).search(value) is not None


def _regexp_ci(pattern: str | None, value: object) -> bool:
    if pattern is None or not isinstance(value, str):
        return False
    return _compile(pattern, True).search(value) is not None


def _index_name(path: str) -> str:
    return "ix_tasks_json_" + re.sub(r"[^A-Za-z0-9]+", "_", path.strip("$.")).strip("_")


TIMESTAMP_KEYS = ("created_at", "updated_at")
"""Kept in their own columns, never inside the stored document (see :func:`with_timestamps`)."""


def _columns(record: TaskRecord) -> tuple[str, str, str, str, str, str]:
    doc = record.doc
    if any(key in doc for key in TIMESTAMP_KEYS):
        doc = {key: value for key, value in doc.items() if key not in TIMESTAMP_KEYS}
    return (
        str(doc["task_id"]),
        str(doc.get("task_type") or "unknown"),
        str(doc.get("status") or "UNKNOWN"),
        record.created_at,
        record.updated_at,
        json.dumps(doc, separators=(",", ":")),
    )


class TaskStore:
    """Thread-safe task table. ``path=None`` keeps everything in memory."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self._conn.create_function("REGEXP", 2, _regexp, deterministic=True)
        self._conn.create_function("regexp_ci", 2, _regexp_ci, deterministic=True)
        self._conn.create_function("phrase_match", 2, phrase_match, deterministic=True)
        self._conn.create_function("words_match", 2, words_match, deterministic=True)
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA cache_size=-65536")
        self._conn.executescript(_SCHEMA)
        for json_path in INDEXED_JSON_PATHS:
            self._conn.execute(
                f"CREATE INDEX IF NOT EXISTS {_index_name(json_path)} "
                f"ON tasks(json_extract(doc, '{json_path}') COLLATE NOCASE, created_at, task_id)"
            )

        for json_path in ORDERED_JSON_PATHS:
            self._conn.execute(
                f"CREATE INDEX IF NOT EXISTS {_index_name(json_path)}_ord "
                f"ON tasks(json_extract(doc, '{json_path}'), task_id)"
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def insert_many(self, records: Iterable[TaskRecord]) -> int:
        """Insert or replace tasks (by task_id); returns how many were written."""
        rows = [_columns(record) for record in records]
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO tasks(task_id, task_type, status, created_at, updated_at, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(task_id) DO UPDATE SET "
                "task_type=excluded.task_type, status=excluded.status, created_at=excluded.created_at, "
                "updated_at=excluded.updated_at, doc=excluded.doc",
                rows,
            )
        if len(rows) > 1000:
            with self._lock:
                self._conn.execute("ANALYZE")
        return len(rows)

    def upsert(self, record: TaskRecord) -> None:
        self.insert_many([record])

    def clear(self) -> int:
        """Delete every task; returns how many there were."""
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM tasks")
        return int(cursor.rowcount)

    def count(self) -> int:
        with self._lock:
            (total,) = self._conn.execute("SELECT count(*) FROM tasks").fetchone()
        return int(total)

    def get(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc, created_at, updated_at FROM tasks WHERE task_id = ?", (task_id,)
            ).fetchone()
        if row is None:
            return None
        return TaskRecord(doc=json.loads(row[0]), created_at=row[1], updated_at=row[2])

    def get_json(self, task_id: str, timestamps: bool = False) -> str | None:
        """The stored document as JSON text (with its timestamps if asked), without a JSON round trip."""
        with self._lock:
            row = self._conn.execute(
                "SELECT doc, created_at, updated_at FROM tasks WHERE task_id = ?", (task_id,)
            ).fetchone()
        if row is None:
            return None
        return with_timestamps(row[0], row[1], row[2]) if timestamps else str(row[0])

    def update(self, task_id: str, mutate: Callable[[dict[str, Any]], dict[str, Any] | None]) -> TaskRecord | None:
        """Read-modify-write one task atomically. ``mutate`` returns the new doc, or None to keep it."""
        with self._transaction() as conn:
            row = conn.execute("SELECT doc, created_at FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            doc: dict[str, Any] = json.loads(row[0])
            new_doc = mutate(doc)
            if new_doc is None:
                return TaskRecord(doc=doc, created_at=row[1], updated_at=now_iso())
            new_doc["task_id"] = task_id
            record = TaskRecord(doc=new_doc, created_at=row[1], updated_at=now_iso())
            _, task_type, status, _, updated_at, doc_json = _columns(record)
            conn.execute(
                "UPDATE tasks SET task_type=?, status=?, updated_at=?, doc=? WHERE task_id=?",
                (task_type, status, updated_at, doc_json, task_id),
            )
        return record

    def task_ids_with_status(self, statuses: Sequence[str]) -> list[str]:
        marks = ",".join("?" for _ in statuses)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT task_id FROM tasks WHERE status IN ({marks}) ORDER BY created_at", tuple(statuses)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def select(
        self,
        where: str,
        params: Sequence[SqlParam],
        sort_expr: str,
        descending: bool,
        limit: int,
        offset: int = 0,
    ) -> list[Row]:
        """One page: ``where`` and ``sort_expr`` are SQL built by the query layer from bound parameters."""
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT doc, task_id, {sort_expr}, created_at, updated_at FROM tasks WHERE {where} "
            f"ORDER BY {sort_expr} {direction}, task_id {direction} LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._conn.execute(sql, (*params, limit, offset)).fetchall()
        return [Row(*row) for row in rows]

    def count_where(self, where: str, params: Sequence[SqlParam]) -> int:
        with self._lock:
            (total,) = self._conn.execute(f"SELECT count(*) FROM tasks WHERE {where}", tuple(params)).fetchone()
        return int(total)

    def explain(self, where: str, params: Sequence[SqlParam], sort_expr: str, descending: bool) -> list[str]:
        """The query plan of :meth:`select` (for the benchmark and debugging)."""
        direction = "DESC" if descending else "ASC"
        sql = (
            f"EXPLAIN QUERY PLAN SELECT doc, task_id, {sort_expr} FROM tasks WHERE {where} "
            f"ORDER BY {sort_expr} {direction}, task_id {direction} LIMIT 10"
        )
        with self._lock:
            return [str(row[-1]) for row in self._conn.execute(sql, tuple(params)).fetchall()]
