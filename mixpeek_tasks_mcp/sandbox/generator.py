"""Deterministic, realistic tasks: all 38 task types, a realistic status mix, failures worth triaging.

``generate_tasks(count, seed, anchor)`` gives the same tasks for the same arguments: failures from the
families of ``failures.py`` (one family bursting on one bucket, one on a few hours of one day), a few
one-off messages, tasks running right now and a few stuck ones. ``family_of`` names the family of a
generated message. ``load_data_file`` reads a JSON list (or ``{"results": [...]}``) of TaskResponse
objects with optional created_at.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ..enums import TaskStatus, TaskType
from ..models import TaskResponse
from ..statuses import ACTIVE, FAILURE, PARTIAL, SUCCESS
from .failures import (
    FAMILIES,
    LONG_TAIL,
    LONG_TAIL_MESSAGES,
    FailureFamily,
    failure_message,
    family_of,
    pick_family,
    render,
)
from .store import TaskRecord
from .timeutil import now_iso, parse_moment, to_iso
from .world import Bucket, World, task_details, task_uuid

__all__ = [
    "FAMILIES",
    "LONG_TAIL",
    "LONG_TAIL_MESSAGES",
    "FailureFamily",
    "family_of",
    "generate_tasks",
    "load_data_file",
    "make_task",
    "new_world",
    "record_from_fields",
    "task_uuid",
]

K = TypeVar("K")
S = TaskStatus
T = TaskType

TYPE_WEIGHTS: dict[TaskType, float] = {
    T.API_BUCKETS_OBJECTS_CREATE: 16,
    T.API_BUCKETS_BATCHES_PROCESS: 14,
    T.ENGINE_FEATURE_EXTRACTOR_RUN: 14,
    T.ENGINE_OBJECT_PROCESSING: 8,
    T.ENGINE_INFERENCE_RUN: 6,
    T.API_BUCKETS_UPLOADS_CREATE: 5,
    T.API_BUCKETS_UPLOADS_CONFIRM: 5,
    T.API_BUCKETS_BATCHES_SUBMIT: 5,
    T.THUMBNAIL: 4,
    T.API_BUCKETS_UPLOADS_BATCH_CONFIRM: 3,
    T.VIDEO_SEGMENT: 3,
    T.API_COLLECTIONS_DOCUMENTS_CREATE: 3,
    T.AUDIO_SEGMENT: 2,
    T.CONVERTED_VIDEO: 2,
    T.ENGINE_CLUSTER_BUILD: 2,
    T.API_TAXONOMIES_EXECUTE: 1.5,
    T.API_COLLECTIONS_DOCUMENTS_BULK_UPDATE: 1,
    T.API_COLLECTIONS_DOCUMENTS_BULK_DELETE: 1,
    T.API_COLLECTIONS_REEMBED: 1,
    T.API_COLLECTIONS_EXTRACTION_ARTIFACTS: 1,
    T.API_TAXONOMIES_MATERIALIZE: 1,
    T.MATERIALIZE: 1,
    T.API_RETRIEVERS_EXECUTE: 1,
    T.API_TAXONOMIES_CREATE: 0.5,
    T.API_COLLECTIONS_EXPORT: 0.5,
    T.API_COLLECTIONS_TRIGGER: 0.5,
    T.API_EVALUATIONS_RUN: 0.5,
    T.PLUGIN_CUSTOM: 0.5,
    T.API_NAMESPACES_CREATE: 0.3,
    T.API_RETRIEVERS_PUBLISH: 0.3,
    T.API_EVALUATIONS_DATASET_CREATE: 0.3,
    T.API_MANIFEST_APPLY: 0.3,
    T.MODEL_CUSTOM: 0.3,
    T.API_NAMESPACES_SNAPSHOT_CREATE: 0.2,
    T.API_BUCKETS_DELETE: 0.2,
    T.API_NAMESPACES_DELETE: 0.1,
    T.API_NAMESPACES_SNAPSHOT_RESTORE: 0.1,
    T.API_NAMESPACES_MIGRATIONS_RUN: 0.1,
}

FINISHED_STATUS_WEIGHTS: dict[TaskStatus, float] = {
    S.COMPLETED: 76,
    S.FAILED: 10,
    S.COMPLETED_WITH_ERRORS: 6,
    S.CANCELED: 4,
    S.INTERRUPTED: 1,
    S.SKIPPED: 0.8,
    S.DRAFT: 0.6,
    S.UNKNOWN: 0.3,
}
ACTIVE_STATUS_WEIGHTS: dict[TaskStatus, float] = {S.PENDING: 2, S.QUEUED: 2, S.IN_PROGRESS: 4, S.PROCESSING: 1}

FAILURE_STATUSES = frozenset({S.FAILED, S.COMPLETED_WITH_ERRORS, S.INTERRUPTED})


def _pick(rng: random.Random, weights: dict[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def blank_doc(task_id: str, task_type: str, status: str) -> dict[str, Any]:
    """Every TaskResponse key present (nulls included), as the API renders a task."""
    return {
        "task_id": task_id,
        "task_type": task_type,
        "status": status,
        "inputs": None,
        "outputs": None,
        "additional_data": None,
        "error": None,
        "queue_position": None,
        "estimated_wait_minutes": None,
    }


def _move_to_bucket(doc: dict[str, Any], bucket: Bucket) -> None:
    """Make a bucket task belong to ``bucket`` (additional_data and inputs)."""
    bucket_id, _, namespace_id = bucket
    data = doc["additional_data"]
    if "bucket_id" not in data:
        return
    data.update(bucket_id=bucket_id, namespace_id=namespace_id)
    for item in doc.get("inputs") or []:
        if isinstance(item, dict) and "bucket_id" in item:
            item["bucket_id"] = bucket_id


def make_task(
    rng: random.Random,
    world: World,
    task_type: TaskType,
    status: TaskStatus,
    *,
    family: FailureFamily | None = None,
    message: str | None = None,
    bucket: Bucket | None = None,
) -> dict[str, Any]:
    """One task document. Failed, partial and interrupted tasks get ``message``, else one of ``family``,
    else one of a family that fits the task type."""
    doc = blank_doc(task_uuid(rng), task_type.value, status.value)
    doc.update(task_details(rng, world, task_type, status))
    data = doc["additional_data"]
    if bucket is not None:
        _move_to_bucket(doc, bucket)
    if status in FAILURE_STATUSES:
        if message is None:
            if family is not None:
                message = render(rng, family, world, data)
            else:
                message = failure_message(rng, world, status, task_type, data)
        data["error"] = message
        doc["error"] = message
    if status is S.QUEUED:
        doc["queue_position"] = rng.randint(1, 12)
        doc["estimated_wait_minutes"] = round(doc["queue_position"] * rng.uniform(0.5, 2.5), 1)
    if status is S.CANCELED:
        data["canceled_by"] = rng.choice(("user", "system"))
    return doc


SPAN = timedelta(days=28)
LONG_TAIL_SHARE = 0.03
"""Share of FAILED tasks with a one-off message (while ``LONG_TAIL_MESSAGES`` lasts)."""
BURST_SHARE = 0.8
"""Share of a burst family's tasks that fall in its bucket or its spike window."""
RUNNING_TYPES: dict[TaskType, float] = {
    T.API_BUCKETS_BATCHES_PROCESS: 5,
    T.ENGINE_FEATURE_EXTRACTOR_RUN: 2,
    T.ENGINE_INFERENCE_RUN: 1,
    T.ENGINE_CLUSTER_BUILD: 1,
}
MIN_COUNT_FOR_LIVE = 50
"""From this many tasks on, some are guaranteed running now, a few are stuck, and every active and final status
is there at least once."""
EVERY_STATUS: tuple[TaskStatus, ...] = (
    S.PENDING,
    S.QUEUED,
    S.IN_PROGRESS,
    S.PROCESSING,
    *sorted(SUCCESS | PARTIAL | FAILURE, key=lambda status: status.value),
)
"""The statuses a sandbox starts with, whatever the draw: what a wait or a board must be seen handling."""


@dataclass
class _Plan:
    """Choices made once per dataset: the burst bucket, the spike window, the one-offs still unused."""

    end: datetime
    burst_bucket: Bucket
    spike_start: datetime
    spike_hours: float
    one_offs: list[str]


def _plan(rng: random.Random, world: World, end: datetime) -> _Plan:
    day = end - timedelta(days=rng.randint(2, 6))
    start = day.replace(hour=rng.randint(6, 15), minute=rng.randint(0, 59), second=0, microsecond=0)
    one_offs = list(LONG_TAIL_MESSAGES)
    rng.shuffle(one_offs)
    return _Plan(end, rng.choice(world.buckets), start, rng.uniform(2.0, 4.0), one_offs)


def _record(doc: dict[str, Any], created: datetime, updated: datetime) -> TaskRecord:
    return TaskRecord(doc=doc, created_at=to_iso(created), updated_at=to_iso(max(created, updated)))


def _historic(rng: random.Random, world: World, plan: _Plan) -> TaskRecord:
    """A task created over the last 4 weeks (newer ones more likely); recent ones are sometimes active."""
    age = rng.random() ** 1.3 * SPAN.total_seconds()
    created = plan.end - timedelta(seconds=age)
    task_type = _pick(rng, TYPE_WEIGHTS)
    if age < 3600 and rng.random() < 0.5:
        status = _pick(rng, ACTIVE_STATUS_WEIGHTS)
    else:
        status = _pick(rng, FINISHED_STATUS_WEIGHTS)
    family: FailureFamily | None = None
    message: str | None = None
    bucket: Bucket | None = None
    if status is S.FAILED and plan.one_offs and rng.random() < LONG_TAIL_SHARE:
        message = plan.one_offs.pop()
    elif status in FAILURE_STATUSES:
        family = pick_family(rng, status)
        if family is not None and family.task_types is not None:
            types = sorted(family.task_types, key=lambda kind: kind.value)
            task_type = _pick(rng, {kind: TYPE_WEIGHTS[kind] for kind in types})
        if family is not None and family.burst == "bucket" and rng.random() < BURST_SHARE:
            bucket = plan.burst_bucket
        if family is not None and family.burst == "day" and rng.random() < BURST_SHARE:
            created = plan.spike_start + timedelta(hours=rng.uniform(0, plan.spike_hours))
    doc = make_task(rng, world, task_type, status, family=family, message=message, bucket=bucket)
    duration = timedelta(seconds=rng.uniform(2, 1800))
    if status in ACTIVE:
        return _record(doc, created, plan.end - timedelta(seconds=rng.uniform(0, min(age, 120))))
    return _record(doc, created, min(created + duration, plan.end))


def _running_now(rng: random.Random, world: World, end: datetime, count: int) -> list[TaskRecord]:
    """Tasks running right now (started minutes ago, updated seconds ago), batches first."""
    records = []
    for index in range(6 + count // 1000):
        status = S.PROCESSING if index % 3 == 2 else S.IN_PROGRESS
        task_type = T.API_BUCKETS_BATCHES_PROCESS if index < 3 else _pick(rng, RUNNING_TYPES)
        doc = make_task(rng, world, task_type, status)
        created = end - timedelta(seconds=rng.uniform(120, 2700))
        records.append(_record(doc, created, end - timedelta(seconds=rng.uniform(0, 90))))
    return records


def _stuck(rng: random.Random, world: World, end: datetime, count: int) -> list[TaskRecord]:
    """Active tasks that stopped moving hours ago: deep in the queue, or running without progress."""
    records = []
    for _ in range(2 + count // 5000):
        doc = make_task(rng, world, _pick(rng, RUNNING_TYPES), S.QUEUED)
        doc["queue_position"] = rng.randint(40, 95)
        doc["estimated_wait_minutes"] = round(rng.uniform(240, 720), 1)
        created = end - timedelta(hours=rng.uniform(3, 9))
        records.append(_record(doc, created, created + timedelta(seconds=rng.uniform(1, 30))))
    for index in range(2 + count // 5000):
        status = S.PROCESSING if index % 2 else S.IN_PROGRESS
        doc = make_task(rng, world, T.API_BUCKETS_BATCHES_PROCESS, status)
        updated = end - timedelta(hours=rng.uniform(3, 8))
        records.append(_record(doc, updated - timedelta(minutes=rng.uniform(10, 90)), updated))
    return records


def _every_status(records: list[TaskRecord], seed: int, world: World, end: datetime) -> None:
    """Replace the last historic tasks by one task of each status of EVERY_STATUS the draw left out: active ones
    created minutes ago and updated seconds ago (fresh, not stuck), final ones finished within the hour. Their own
    RNG and the replaced tasks being the last keep every other task as the seed always drew it."""
    present = {record.doc["status"] for record in records}
    missing = [status for status in EVERY_STATUS if status.value not in present]
    rng = random.Random(f"every-status-{seed}")
    for index, status in enumerate(missing):
        task_type = _pick(rng, RUNNING_TYPES) if status in ACTIVE else _pick(rng, TYPE_WEIGHTS)
        if status in FAILURE_STATUSES:
            family = pick_family(rng, status)
            if family is not None and family.task_types is not None:
                task_type = sorted(family.task_types, key=lambda kind: kind.value)[0]
        doc = make_task(rng, world, task_type, status)
        created = end - timedelta(seconds=rng.uniform(300, 2400))
        updated = end - timedelta(seconds=rng.uniform(0, 90)) if status in ACTIVE else created + timedelta(minutes=4)
        records[len(records) - len(missing) + index] = _record(doc, created, updated)


def generate_tasks(count: int, seed: int = 7, anchor: datetime | None = None) -> list[TaskRecord]:
    """``count`` tasks created over the 4 weeks before ``anchor`` (default: now), the same for the same
    arguments. From 50 tasks on, a handful are running right now, a few are stuck, and every active and final
    status (EVERY_STATUS) is there."""
    rng = random.Random(seed)
    world = World(rng)
    end = anchor or datetime.now(UTC)
    plan = _plan(rng, world, end)
    records: list[TaskRecord] = []
    if count >= MIN_COUNT_FOR_LIVE:
        records += _running_now(rng, world, end, count) + _stuck(rng, world, end, count)
    while len(records) < count:
        records.append(_historic(rng, world, plan))
    if count >= MIN_COUNT_FOR_LIVE:
        _every_status(records, seed, world, end)
    return records


def new_world(seed: int) -> World:
    return World(random.Random(seed))


def record_from_fields(fields: dict[str, Any], rng: random.Random | None = None) -> TaskRecord:
    """A task from loose fields (the admin API, data files): defaults filled, created_at taken out."""
    fields = dict(fields)
    created_raw = fields.pop("created_at", None)
    updated_raw = fields.pop("updated_at", None)
    now = now_iso()
    created = parse_moment(created_raw) if created_raw is not None else now
    if created is None:
        raise ValueError(f"created_at is not an ISO-8601 datetime or epoch seconds: {created_raw!r}")
    updated = parse_moment(updated_raw) if updated_raw is not None else created
    if not fields.get("task_id"):
        fields["task_id"] = task_uuid(rng or random.Random())
    fields.setdefault("task_type", T.API_BUCKETS_BATCHES_PROCESS.value)
    fields.setdefault("status", S.PENDING.value)
    doc = blank_doc(str(fields["task_id"]), str(fields["task_type"]), str(fields["status"]))
    doc.update(TaskResponse.model_validate(fields).model_dump(mode="json"))
    return TaskRecord(doc=doc, created_at=created, updated_at=updated or created)


def load_data_file(path: str | Path) -> list[TaskRecord]:
    """Tasks from a JSON file: a list of TaskResponse objects or ``{"results": [...]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("results")
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of tasks or an object with 'results'")
    rng = random.Random(0)
    base = datetime.now(UTC)
    records = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("task_id"):
            raise ValueError(f"{path}: item {index} is not a task object with a task_id")
        fields = dict(item)
        fields.setdefault("created_at", to_iso(base - timedelta(seconds=len(data) - index)))
        records.append(record_from_fields(fields, rng))
    return records
