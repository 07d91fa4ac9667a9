"""Label values that stay few and say nothing secret: route templates, key labels, known names.

A Prometheus series per label value lives for the whole process, so every label here comes from a bounded
set: a route template (never a task id), a key's short hash or the operator's alias for it (never the key,
at most ``MAX_KEY_LABELS`` of them, then ``other``), a tool or method name the server knows.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from typing import Final

MAX_KEY_LABELS: Final = 20
"""Distinct key labels kept; later keys all count as ``other``."""
OTHER: Final = "other"
KEY_HASH_CHARS: Final = 8

_COLLECTIONS: Final = {
    "tasks": "task_id",
    "buckets": "bucket_id",
    "batches": "batch_id",
    "collections": "collection_id",
    "documents": "document_id",
    "namespaces": "namespace_id",
    "objects": "object_id",
    "tiers": "tier_num",
}
_LITERALS: Final = frozenset(
    {"v1", "list", "cancel", "retry", "kill", "logs", "failed", "failed-documents", "search", *_COLLECTIONS}
)


def route_template(path: str) -> str:
    """``/v1/tasks/3f2a...`` -> ``/v1/tasks/{task_id}``: ids (any segment that is not a known word) become
    placeholders named after the collection before them, so the number of routes is bounded by the code."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        if segment in _LITERALS and not (index and segments[index - 1] in _COLLECTIONS and segment != "list"):
            out.append(segment)
        else:
            previous = segments[index - 1] if index else ""
            out.append("{" + _COLLECTIONS.get(previous, "id") + "}")
    return "/" + "/".join(out)


def key_hash(api_key: str) -> str:
    """The first hex digits of the key's SHA-256: enough to tell keys apart, useless to recover one."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:KEY_HASH_CHARS]


class KeyLabels:
    """Labels keys by the operator's alias (``MIXPEEK_METRICS_KEY_ALIASES``: short hash -> name) or their short
    hash; at most ``limit`` distinct labels, then ``other``."""

    def __init__(self, aliases: Mapping[str, str] | None = None, limit: int = MAX_KEY_LABELS) -> None:
        self.aliases = {hash_.lower(): alias for hash_, alias in (aliases or {}).items()}
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, api_key: str | None) -> str:
        if not api_key:
            return "none"
        digest = key_hash(api_key)
        label = self.aliases.get(digest, digest)
        return self.bounded(label)

    def bounded(self, label: str) -> str:
        """``label`` if it is among the first ``limit`` seen (or an alias), else ``other``."""
        if label in self.aliases.values() or label in (OTHER, "none", "all"):
            return label
        with self._lock:
            if label in self._seen:
                return label
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(label)
            return label


KEY_LABELS = KeyLabels()
"""The process's key labeller (aliases set when observability is turned on)."""


def key_label(api_key: str | None) -> str:
    """What metrics and spans call this key: its alias or short hash, bounded (see KeyLabels)."""
    return KEY_LABELS.label(api_key)


def known(name: object, names: Iterable[str]) -> str:
    """``name`` if it is one of ``names`` (tools, methods the server serves), else ``other``."""
    return name if isinstance(name, str) and name in frozenset(names) else OTHER
