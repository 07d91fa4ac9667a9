"""Counters over streamed tasks: statuses, types, error groups and the active tasks to judge for stalls.

Pages are folded in one task at a time and dropped: what is kept grows with the number of distinct causes
(bounded by the tasks scanned, at most 10,000), never with the tasks' bodies.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..coerce import as_int, as_number, as_time
from ..documents import failed_documents
from ..enums import TaskStatus
from ..models import TaskResponse
from ..statuses import StatusClass, classify
from .signatures import Signature, merge_values, signature_of

MAX_EXAMPLES = 3
MAX_SAMPLE_CHARS = 200
MAX_LABEL_CHARS = 80
MAX_DISTINCT_PER_COUNTER = 64
"""Distinct keys one counter tracks (types, buckets, batches); the rest count under OTHER."""
MAX_EXACT_TEXTS = 20
MAX_EXACT_TEXT_CHARS = 300
"""A group remembers its distinct error texts (raw, as the API sent them) while they are at most this many and
this short: enough to list the group with an exact ``eq``/``in`` match when no ``contains`` filter tells it apart
(short errors, one-offs), and to check that another group's filter does not catch its tasks."""
OTHER = "(other)"
NO_TEXT = "(no error text)"
PROBLEM_CLASSES = frozenset({StatusClass.FAILURE, StatusClass.PARTIAL})


def bounded_add(counter: Counter[str], key: str, limit: int = MAX_DISTINCT_PER_COUNTER) -> None:
    key = key[:MAX_LABEL_CHARS]
    if key in counter or len(counter) < limit:
        counter[key] += 1
    else:
        counter[OTHER] += 1


@dataclass
class GroupTally:
    key: str
    known: list[str | None]
    sample: str
    count: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    task_types: Counter[str] = field(default_factory=Counter)
    buckets: Counter[str] = field(default_factory=Counter)
    batches: Counter[str] = field(default_factory=Counter)
    error_fields: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    texts: set[str] | None = field(default_factory=set)
    """The distinct raw error texts, or None once there are too many (or too long) to list."""
    failed_documents: int = 0
    documents_of: int = 0
    documents_reported: int = 0
    """Tasks that said how many of their documents failed (``failed_documents`` sums them, out of
    ``documents_of`` documents in the tasks that gave that too)."""

    def add(
        self,
        task: TaskResponse,
        values: tuple[str, ...],
        error_field: str | None,
        created: datetime | None,
        text: str | None = None,
    ) -> None:
        self.count += 1
        if self.texts is not None and text is not None:
            if len(text) > MAX_EXACT_TEXT_CHARS or (text not in self.texts and len(self.texts) >= MAX_EXACT_TEXTS):
                self.texts = None
            else:
                self.texts.add(text)
        documents = failed_documents(task)
        if documents is not None:
            self.documents_reported += 1
            self.failed_documents += documents.failed
            self.documents_of += documents.of or 0
        merge_values(self.known, values)
        bounded_add(self.statuses, task.status)
        bounded_add(self.task_types, task.task_type)
        data = task.additional_data or {}
        for counter, key in ((self.buckets, "bucket_id"), (self.batches, "batch_id")):
            if data.get(key) not in (None, ""):
                bounded_add(counter, str(data[key]))
        if error_field is not None:
            self.error_fields.add(error_field)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(task.task_id[:MAX_LABEL_CHARS])
        if created is not None:
            self.first_seen = created if self.first_seen is None else min(self.first_seen, created)
            self.last_seen = created if self.last_seen is None else max(self.last_seen, created)


@dataclass(frozen=True)
class ActiveTask:
    """What stall detection needs of one active task."""

    task_id: str
    task_type: str
    status: str
    tier: tuple[int, int] | None
    queue_position: int | None
    estimated_wait_minutes: float | None
    created: datetime | None
    updated: datetime | None


def error_source(task: TaskResponse) -> tuple[str | None, str | None]:
    """The error text and the field it came from (``error``, ``error_message`` or ``additional_data.error``)."""
    extra = task.model_extra or {}
    for name, value in (
        ("error", task.error),
        ("error_message", extra.get("error_message")),
        ("additional_data.error", (task.additional_data or {}).get("error")),
    ):
        if value not in (None, ""):
            return (value if isinstance(value, str) else str(value)), name
    return None, None


def _tier(data: dict[str, Any]) -> tuple[int, int] | None:
    total = as_int(data.get("total_tiers"))
    if total is None:
        return None
    current = as_int(data.get("current_tier"))
    return ((current + 1) if current is not None else 0, total)


@dataclass
class Tally:
    scanned: int = 0
    with_error: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    task_types: Counter[str] = field(default_factory=Counter)
    groups: dict[str, GroupTally] = field(default_factory=dict)
    active: list[ActiveTask] = field(default_factory=list)
    saw_timestamps: bool = False
    canceled_quietly: GroupTally | None = None
    """CANCELED tasks with no error text: someone or something stopped them, which is no failure cause."""

    def add(self, task: TaskResponse) -> None:
        self.scanned += 1
        bounded_add(self.statuses, task.status)
        bounded_add(self.task_types, task.task_type)
        extra = task.model_extra or {}
        created = as_time(extra.get("created_at"))
        updated = as_time(extra.get("updated_at"))
        self.saw_timestamps = self.saw_timestamps or created is not None or updated is not None
        status_class = classify(task.status)
        if status_class is StatusClass.ACTIVE:
            data = task.additional_data or {}
            self.active.append(
                ActiveTask(
                    task_id=task.task_id[:MAX_LABEL_CHARS],
                    task_type=task.task_type[:MAX_LABEL_CHARS],
                    status=task.status,
                    tier=_tier(data),
                    queue_position=as_int(task.queue_position),
                    estimated_wait_minutes=as_number(task.estimated_wait_minutes),
                    created=created,
                    updated=updated,
                )
            )
            return
        text, error_field = error_source(task)
        if text is None and status_class not in PROBLEM_CLASSES:
            return
        if text is None and task.status == TaskStatus.CANCELED:
            if self.canceled_quietly is None:
                self.canceled_quietly = GroupTally(NO_TEXT, [], NO_TEXT)
            self.canceled_quietly.add(task, (), None, created)
            return
        self.with_error += 1
        signature = signature_of(text) if text is not None else Signature(NO_TEXT, ())
        group = self.groups.get(signature.key)
        if group is None:
            sample = " ".join((text or NO_TEXT)[: MAX_SAMPLE_CHARS * 2].split())[:MAX_SAMPLE_CHARS]
            group = GroupTally(signature.key, list(signature.values), sample)
            self.groups[signature.key] = group
        group.add(task, signature.values, error_field, created, text)
