"""How many documents of a partly failed task failed, where the API says so.

A COMPLETED_WITH_ERRORS task "lists successes, failures with details, and a success rate" (the Mixpeek docs),
but TaskResponse types none of it: the counts arrive as free-form keys of ``additional_data`` or of an
``outputs`` entry. They are read by the names the batch model uses (``failed_object_count``, BatchProgress's
``objects_failed``, diagnose's ``failed_document_count``), else derived from a success-rate percentage and the
task's ``object_count``. Error texts are never parsed for numbers: they are data, and wording changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .coerce import as_int, as_number
from .models import TaskResponse

COUNT_KEYS = (
    "failed_object_count",
    "failed_document_count",
    "failed_documents_count",
    "failed_count",
    "objects_failed",
    "documents_failed",
)
LIST_KEYS = ("failed_objects", "failed_documents", "failed_items")
"""Lists of per-item failures; their length counts only when no count key is given (lists may be samples)."""
RATE_KEYS = ("success_rate", "success_rate_percent")
TOTAL_KEYS = ("object_count", "total_objects", "total_documents", "document_count")


@dataclass(frozen=True)
class FailedDocuments:
    failed: int
    of: int | None
    """The documents the task processed, when the API gives that too."""


def _sources(task: TaskResponse) -> list[dict[str, Any]]:
    sources = [task.additional_data or {}]
    sources += [item for item in (task.outputs or [])[:10] if isinstance(item, dict)]
    return sources


def _first(sources: list[dict[str, Any]], keys: tuple[str, ...]) -> int | None:
    for source in sources:
        for key in keys:
            value = as_int(source.get(key))
            if value is not None and value >= 0:
                return value
    return None


def failed_documents(task: TaskResponse) -> FailedDocuments | None:
    """The failed documents of ``task`` as the API reports them, or None when it does not."""
    sources = _sources(task)
    total = _first(sources, TOTAL_KEYS)
    failed = _first(sources, COUNT_KEYS)
    if failed is None:
        for source in sources:
            listed = next((source[key] for key in LIST_KEYS if isinstance(source.get(key), list)), None)
            if listed is not None:
                failed = len(listed)
                break
    if failed is None and total is not None:
        rate = next(
            (number for source in sources for key in RATE_KEYS if (number := as_number(source.get(key))) is not None),
            None,
        )
        if rate is not None and 0 <= rate <= 100:
            failed = round(total * (100 - rate) / 100)
    if failed is None:
        return None
    return FailedDocuments(failed, total if total is not None and total >= failed else None)
