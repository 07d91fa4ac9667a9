"""Deterministic, realistic tasks: all 38 task types, a realistic status mix, real-looking failures.

``generate_tasks(count, seed, anchor)`` gives the same tasks for the same arguments. ``load_data_file``
reads a JSON list (or ``{"results": [...]}``) of TaskResponse objects with optional created_at.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ..enums import TaskStatus, TaskType
from ..models import TaskResponse
from ..statuses import ACTIVE
from .store import TaskRecord
from .timeutil import now_iso, parse_moment, to_iso

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

ENGINE_TYPES = frozenset(
    {
        T.ENGINE_FEATURE_EXTRACTOR_RUN,
        T.ENGINE_INFERENCE_RUN,
        T.ENGINE_OBJECT_PROCESSING,
        T.ENGINE_CLUSTER_BUILD,
        T.API_BUCKETS_BATCHES_PROCESS,
        T.API_COLLECTIONS_REEMBED,
        T.VIDEO_SEGMENT,
        T.AUDIO_SEGMENT,
        T.CONVERTED_VIDEO,
    }
)
EXTRACTORS = ("clip-vit-l14", "text-embed-3-small", "whisper-large-v3", "siglip-so400m", "e5-large-v2")
FILE_KINDS = (("PDF", "PNG"), ("MP4", "MOV"), ("JPEG", "HEIC"), ("WAV", "MP3"), ("PDF", "DOCX"))
BUCKET_NAMES = ("products", "support-videos", "contracts", "podcasts", "catalog-images", "lectures")
WORKER_NODES = ("ip-10-0-3-17", "ip-10-0-7-212", "ip-10-0-1-88", "ip-10-0-12-4")
COLLECTION_NAMES = ("text", "images", "scenes", "transcripts", "faces", "captions")

FAILURE_TEMPLATES = (
    "Invalid file format: Expected {want}, got {got}",
    "Ray job {job} failed: OOMKilled on worker {node} (memory limit 16Gi)",
    "Feature extractor '{extractor}' timed out after {secs}s on {n} objects",
    "S3 access denied for s3://{bucket_name}-raw/{object_id}.{ext}: AccessDenied (403)",
    "Inference service unavailable: model '{extractor}' is warming up (503)",
    "Collection {collection_id} not found in namespace {namespace_id}",
    "Object {object_id} exceeds the 2 GiB size limit ({size} MiB)",
    "Ray job {job} failed: worker {node} lost connection to the GCS (node died)",
    "Vector store write failed: 429 Too Many Requests from qdrant after 5 retries",
)
PARTIAL_TEMPLATES = (
    "{failed} of {n} objects failed: Invalid file format: Expected {want}, got {got}",
    "{failed} of {n} documents failed feature extraction with '{extractor}' (timeout after {secs}s)",
)


def _hex(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def task_uuid(rng: random.Random) -> str:
    """A UUIDv4 drawn from the seeded RNG (so ids repeat for the same seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _pick(rng: random.Random, weights: dict[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _World:
    """Namespaces, buckets and collections the generated tasks refer to."""

    def __init__(self, rng: random.Random) -> None:
        self.namespaces = [f"ns_{_hex(rng, 10)}" for _ in range(4)]
        self.buckets = [(f"bkt_{name.replace('-', '_')}", name, rng.choice(self.namespaces)) for name in BUCKET_NAMES]
        self.collections = [f"col_{name}_{_hex(rng, 6)}" for name in COLLECTION_NAMES]
        self.clusters = [f"clust_{_hex(rng, 8)}" for _ in range(5)]
        self.taxonomies = [f"tax_{_hex(rng, 8)}" for _ in range(4)]
        self.retrievers = [f"ret_{_hex(rng, 8)}" for _ in range(4)]


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


def _failure(rng: random.Random, world: _World, data: dict[str, Any], partial: bool) -> str:
    want, got = rng.choice(FILE_KINDS)
    bucket_id, bucket_name, _ = rng.choice(world.buckets)
    n = int(data.get("object_count") or rng.randint(5, 400))
    values = {
        "want": want,
        "got": got,
        "job": data.get("job_id") or f"ray_job_{_hex(rng, 3)}",
        "node": rng.choice(WORKER_NODES),
        "extractor": rng.choice(EXTRACTORS),
        "secs": rng.choice((300, 600, 900, 1800)),
        "n": n,
        "failed": max(1, n // rng.randint(3, 20)),
        "bucket_name": bucket_name,
        "object_id": data.get("object_id") or f"obj_{_hex(rng, 10)}",
        "ext": got.lower(),
        "collection_id": rng.choice(world.collections),
        "namespace_id": data.get("namespace_id") or rng.choice(world.namespaces),
        "size": rng.randint(2049, 9000),
        "bucket_id": bucket_id,
    }
    return rng.choice(PARTIAL_TEMPLATES if partial else FAILURE_TEMPLATES).format(**values)


def _details(rng: random.Random, world: _World, task_type: TaskType, status: TaskStatus) -> dict[str, Any]:
    """additional_data, inputs and outputs for one task (returned together in one dict)."""
    bucket_id, _, namespace_id = rng.choice(world.buckets)
    data: dict[str, Any] = {"namespace_id": namespace_id}
    inputs: list[Any] = []
    outputs: list[Any] | None = None
    finished_ok = status in (S.COMPLETED, S.COMPLETED_WITH_ERRORS)
    if task_type in ENGINE_TYPES:
        data["job_id"] = f"ray_job_{_hex(rng, 6)}"
    if task_type is T.API_BUCKETS_BATCHES_PROCESS:
        tiers = rng.choice((1, 2, 2, 3, 3, 4))
        count = rng.choice((12, 50, 250, 1000, 4800, 10000))
        batch_id = f"btch_{_hex(rng, 10)}"
        current: int | None = tiers - 1 if finished_ok else rng.randint(0, tiers - 1)
        if status in (S.PENDING, S.QUEUED, S.DRAFT):
            current = None
        data.update(
            batch_id=batch_id,
            bucket_id=bucket_id,
            collection_ids=rng.sample(world.collections, tiers),
            total_tiers=tiers,
            current_tier=current,
            object_count=count,
            sample_object_ids=[f"obj_{_hex(rng, 10)}" for _ in range(min(5, count))],
        )
        inputs = [batch_id]
        if finished_ok:
            outputs = [{"batch_id": batch_id, "documents_written": count * tiers, "tiers_completed": tiers}]
    elif task_type in (T.API_BUCKETS_OBJECTS_CREATE, T.API_BUCKETS_UPLOADS_CONFIRM, T.API_BUCKETS_UPLOADS_CREATE):
        object_id = f"obj_{_hex(rng, 10)}"
        data.update(bucket_id=bucket_id, object_id=object_id)
        inputs = [{"bucket_id": bucket_id, "object_id": object_id}]
        if finished_ok:
            outputs = [object_id]
    elif task_type in (T.API_BUCKETS_BATCHES_SUBMIT, T.API_BUCKETS_UPLOADS_BATCH_CONFIRM):
        batch_id = f"btch_{_hex(rng, 10)}"
        data.update(bucket_id=bucket_id, batch_id=batch_id, object_count=rng.randint(1, 500))
        inputs = [batch_id]
    elif task_type is T.ENGINE_CLUSTER_BUILD:
        cluster_id = rng.choice(world.clusters)
        data["cluster_id"] = cluster_id
        inputs = [{"cluster_id": cluster_id, "config": {"algorithm": rng.choice(("kmeans", "hdbscan"))}}]
        if finished_ok:
            outputs = [
                {
                    "cluster_id": cluster_id,
                    "num_clusters": rng.randint(3, 40),
                    "silhouette_score": round(rng.uniform(0.2, 0.9), 2),
                }
            ]
    elif task_type.value.startswith(("engine_", "api_collections_")) or task_type in ENGINE_TYPES:
        collection_id = rng.choice(world.collections)
        data.update(collection_id=collection_id, object_count=rng.randint(1, 2000))
        if task_type is T.ENGINE_FEATURE_EXTRACTOR_RUN:
            data["feature_extractor"] = rng.choice(EXTRACTORS)
        inputs = [collection_id]
    elif task_type.value.startswith("api_taxonomies_"):
        taxonomy_id = rng.choice(world.taxonomies)
        data["taxonomy_id"] = taxonomy_id
        inputs = [taxonomy_id]
    elif task_type.value.startswith("api_retrievers_"):
        retriever_id = rng.choice(world.retrievers)
        data["retriever_id"] = retriever_id
        inputs = [retriever_id]
    else:
        inputs = [namespace_id]
    return {"additional_data": data, "inputs": inputs, "outputs": outputs}


def make_task(rng: random.Random, world: _World, task_type: TaskType, status: TaskStatus) -> dict[str, Any]:
    doc = blank_doc(task_uuid(rng), task_type.value, status.value)
    doc.update(_details(rng, world, task_type, status))
    data = doc["additional_data"]
    if status in (S.FAILED, S.COMPLETED_WITH_ERRORS, S.INTERRUPTED):
        message = _failure(rng, world, data, partial=status is S.COMPLETED_WITH_ERRORS)
        if status is S.INTERRUPTED:
            message = "Interrupted by engine deploy; the batch will be resubmitted automatically"
        data["error"] = message
        doc["error"] = message
    if status is S.QUEUED:
        doc["queue_position"] = rng.randint(1, 12)
        doc["estimated_wait_minutes"] = round(doc["queue_position"] * rng.uniform(0.5, 2.5), 1)
    if status is S.CANCELED:
        data["canceled_by"] = rng.choice(("user", "system"))
    return doc


def generate_tasks(count: int, seed: int = 7, anchor: datetime | None = None) -> list[TaskRecord]:
    """``count`` tasks created over the 4 weeks before ``anchor`` (default: now); only the newest are active."""
    rng = random.Random(seed)
    world = _World(rng)
    end = anchor or datetime.now(UTC)
    span = timedelta(days=28).total_seconds()
    records: list[TaskRecord] = []
    for _ in range(count):
        age = rng.random() ** 1.3 * span
        created = end - timedelta(seconds=age)
        task_type = _pick(rng, TYPE_WEIGHTS)
        recent = age < 3600
        if recent and rng.random() < 0.5:
            status = _pick(rng, ACTIVE_STATUS_WEIGHTS)
        else:
            status = _pick(rng, FINISHED_STATUS_WEIGHTS)
        doc = make_task(rng, world, task_type, status)
        duration = timedelta(seconds=rng.uniform(2, 1800))
        updated = min(created + duration, end) if status not in ACTIVE else end
        records.append(TaskRecord(doc=doc, created_at=to_iso(created), updated_at=to_iso(updated)))
    return records


def new_world(seed: int) -> _World:
    return _World(random.Random(seed))


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
