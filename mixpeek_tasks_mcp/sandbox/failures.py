"""Failure families: the error texts of failed, partial and interrupted tasks.

Each :class:`FailureFamily` is one template whose ``{placeholders}`` are the parts that vary from task to
task, and only parts a triage tool would mask: ids (``obj_…``, ``btch_…``, ``col_…``, ``ns_…``,
``ray_job_…``), numbers, sizes, durations, s3 urls and quoted names. So once those are masked, every
family is one error signature and no two families share one. A few large families, some medium ones;
two are bursts (see ``burst``). Three have the shapes that trip a careless masker: ids that often hold no digit
(``raysubmit_…``), snake_case job and step names, and a four-letter error with nothing to mask at all.
``LONG_TAIL_MESSAGES`` are one-off sentences that share nothing with
each other or with the families (different words, not just different numbers).

:func:`family_of` is an oracle for tests: it names the family of a generated message from regexes built
from the templates alone (each placeholder a non-greedy wildcard), independent of any triage code.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from typing import Any, Literal

from ..enums import TaskStatus, TaskType
from .world import EXTENSIONS, EXTRACTORS, MIME_MISMATCHES, RAY_TYPES, WORKER_NODES, World, hex_id

S = TaskStatus
T = TaskType
LONG_TAIL = "long_tail"
"""What :func:`family_of` answers for a one-off message of ``LONG_TAIL_MESSAGES``."""

OBJECT_TYPES = frozenset({T.API_BUCKETS_OBJECTS_CREATE, T.API_BUCKETS_UPLOADS_CONFIRM, T.API_BUCKETS_UPLOADS_CREATE})
"""Task types about one object of a bucket (their additional_data has bucket_id and object_id)."""


@dataclass(frozen=True)
class FailureFamily:
    """One kind of failure: its message template, the statuses and task types it hits, its share."""

    name: str
    template: str
    statuses: frozenset[TaskStatus]
    task_types: frozenset[TaskType] | None
    """None: any task type (the task keeps the type it was drawn with)."""
    weight: float
    """Relative share among the families of the same status."""
    burst: Literal["bucket", "day"] | None = None
    """``bucket``: most of its tasks share one bucket; ``day``: most were created within a few hours."""


FAILED = frozenset({S.FAILED})
FAMILIES: tuple[FailureFamily, ...] = (
    FailureFamily(
        "ray_oom",
        "Ray job {job_id} failed: OOMKilled on worker {node} (memory limit {memory_gi}Gi)",
        FAILED,
        RAY_TYPES,
        22,
    ),
    FailureFamily(
        "extractor_timeout",
        "Feature extractor '{extractor}' timed out after {secs}s on {n} objects",
        FAILED,
        frozenset(
            {
                T.ENGINE_FEATURE_EXTRACTOR_RUN,
                T.API_BUCKETS_BATCHES_PROCESS,
                T.ENGINE_OBJECT_PROCESSING,
                T.API_COLLECTIONS_REEMBED,
                T.VIDEO_SEGMENT,
                T.AUDIO_SEGMENT,
            }
        ),
        17,
    ),
    FailureFamily(
        "s3_access_denied",
        "S3 access denied for s3://{bucket_name}-raw/{object_id}.{ext}: AccessDenied (403)",
        FAILED,
        OBJECT_TYPES,
        15,
        burst="bucket",
    ),
    FailureFamily(
        "invalid_file_format",
        "Invalid file format for {object_id}: expected '{want}', got '{got}'",
        FAILED,
        OBJECT_TYPES | {T.THUMBNAIL},
        12,
    ),
    FailureFamily(
        "inference_unavailable",
        "Inference service unavailable: model '{extractor}' is warming up (503)",
        FAILED,
        frozenset(
            {
                T.ENGINE_INFERENCE_RUN,
                T.ENGINE_FEATURE_EXTRACTOR_RUN,
                T.API_RETRIEVERS_EXECUTE,
                T.API_COLLECTIONS_REEMBED,
            }
        ),
        9,
        burst="day",
    ),
    FailureFamily(
        "collection_not_found",
        "Collection {collection_id} not found in namespace {namespace_id}",
        FAILED,
        frozenset(
            {
                T.API_COLLECTIONS_DOCUMENTS_CREATE,
                T.API_COLLECTIONS_DOCUMENTS_BULK_UPDATE,
                T.API_COLLECTIONS_DOCUMENTS_BULK_DELETE,
                T.API_COLLECTIONS_EXPORT,
                T.API_COLLECTIONS_TRIGGER,
                T.API_TAXONOMIES_EXECUTE,
                T.API_RETRIEVERS_EXECUTE,
                T.ENGINE_CLUSTER_BUILD,
            }
        ),
        6,
    ),
    FailureFamily(
        "ray_node_died",
        "Ray job {job_id} failed: worker {node} lost connection to the GCS (node died)",
        FAILED,
        RAY_TYPES,
        6,
    ),
    FailureFamily(
        "vector_store_throttled",
        "Vector store write to {collection_id} failed: 429 Too Many Requests from qdrant after {retries} retries",
        FAILED,
        frozenset(
            {
                T.API_COLLECTIONS_DOCUMENTS_CREATE,
                T.API_COLLECTIONS_DOCUMENTS_BULK_UPDATE,
                T.ENGINE_FEATURE_EXTRACTOR_RUN,
                T.API_BUCKETS_BATCHES_PROCESS,
                T.API_COLLECTIONS_REEMBED,
                T.MATERIALIZE,
            }
        ),
        5,
    ),
    FailureFamily(
        "ray_submission_lost",
        "Ray submission {submission_id} was lost when the head node restarted",
        FAILED,
        RAY_TYPES,
        5,
    ),
    FailureFamily(
        "pipeline_step_failed",
        "Pipeline {pipeline} stopped at step {step}: the step returned no rows",
        FAILED,
        frozenset({T.API_COLLECTIONS_TRIGGER, T.API_TAXONOMIES_EXECUTE, T.MATERIALIZE, T.API_TAXONOMIES_MATERIALIZE}),
        5,
    ),
    FailureFamily("plugin_boom", "boom", FAILED, frozenset({T.PLUGIN_CUSTOM, T.MODEL_CUSTOM}), 5),
    FailureFamily(
        "object_too_large",
        "Object {object_id} exceeds the 2 GiB size limit ({size_mib} MiB)",
        FAILED,
        OBJECT_TYPES | {T.VIDEO_SEGMENT, T.CONVERTED_VIDEO},
        4,
    ),
    FailureFamily(
        "partial_invalid_format",
        "{failed} of {n} objects failed: invalid file format (expected '{want}', got '{got}')",
        frozenset({S.COMPLETED_WITH_ERRORS}),
        frozenset({T.API_BUCKETS_BATCHES_PROCESS, T.API_BUCKETS_BATCHES_SUBMIT, T.API_BUCKETS_UPLOADS_BATCH_CONFIRM}),
        55,
    ),
    FailureFamily(
        "partial_extraction_timeout",
        "{failed} of {n} documents failed feature extraction with '{extractor}' (timeout after {secs}s)",
        frozenset({S.COMPLETED_WITH_ERRORS}),
        frozenset({T.API_BUCKETS_BATCHES_PROCESS, T.ENGINE_FEATURE_EXTRACTOR_RUN, T.API_COLLECTIONS_REEMBED}),
        45,
    ),
    FailureFamily(
        "engine_deploy_interrupted",
        "Interrupted by engine deploy {release}; the batch will be resubmitted automatically",
        frozenset({S.INTERRUPTED}),
        None,
        1,
    ),
)
FAMILIES_BY_NAME = {family.name: family for family in FAMILIES}

LONG_TAIL_MESSAGES: tuple[str, ...] = (
    "Webhook https://hooks.acme-retail.io/mixpeek/ingest answered 410 Gone; the trigger was disabled",
    "Taxonomy node 'Outerwear > Rain Jackets' references a parent that was deleted",
    "Retriever stage 'rerank' refused input: query embedding has 768 dimensions, index expects 1024",
    "Manifest line 88: unknown key 'feature_extractors.0.paramz'",
    "Clock skew of 412 seconds between the API node and the Ray head; job rejected",
    "Snapshot restore aborted: target namespace already holds collections",
    "PDF is password protected; text cannot be extracted without the owner password",
    "Audio track missing: the container has video streams only",
    "License check failed for plugin 'acme-face-blur' (expired on 2025-03-31)",
    "Thumbnail renderer crashed: ffmpeg exited with signal SIGSEGV",
    "Custom model upload rejected: safetensors header is truncated",
    "Evaluation dataset has no relevance judgements; nothing to score",
    "Cluster build stopped: HDBSCAN labelled every point as noise",
    "Bulk update matched zero documents; the filter may use a stale field name",
    "Export destination lives in a different AWS region than the namespace",
    "Migration 0042_split_payloads could not acquire the namespace lock within the grace period",
    "Object metadata is not valid JSON: trailing comma after the last property",
    "Video has variable frame rate with corrupt timestamps; the segmenter gave up",
    "Whisper returned an empty transcript for a 41-minute recording",
    "Image has zero width after EXIF rotation",
    "Presigned upload URL expired before the client finished sending parts",
    "Multipart upload is missing part 7 of 12",
    "Checksum mismatch: the SHA-256 sent by the client does not match the stored bytes",
    "Retriever publish blocked: slug 'support-search' is taken by another organization",
    "Namespace deletion refused while batches are still processing",
    "Trigger schedule '0 */0 * * *' is not a valid cron expression",
    "Materialized view would exceed the row ceiling of this plan",
    "Payload index on 'metadata.sku' cannot be created: mixed string and integer values",
    "GPU driver reported Xid 79 (fallen off the bus) during inference",
    "Decoder lacks HEVC Main 10 support in this region's worker image",
    "Plugin returned a feature vector containing NaN values",
    "Bucket schema rejected field 'price': declared number, received text",
    "Archive contains nested zip files deeper than the supported depth",
    "Subtitle file is UTF-16 without a byte order mark",
    "OAuth token of the Google Drive connector was revoked by its owner",
    "Face detector skipped every frame: the video is completely black",
    "Dataset row 1204 has an empty query string",
    "Font subsetting failed while rendering the page preview",
    "Your plan does not include the 'video-understanding' extractor",
    "Source URL redirects to a login page instead of the media file",
    "Unicode normalization left the document title empty",
    "Collection is frozen for a scheduled reindex; writes are paused",
    "Taxonomy execution found a cycle between 'Shoes' and 'Footwear'",
    "DICOM file uses a transfer syntax this worker cannot decode",
    "Point cloud files are not supported by any configured extractor",
    "Spreadsheet has merged header cells; column mapping is ambiguous",
)
_LONG_TAIL_SET = frozenset(LONG_TAIL_MESSAGES)


def template_regex(template: str) -> re.Pattern[str]:
    """The template with each ``{placeholder}`` a non-greedy wildcard and the rest literal."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append("(.+?)")
    return re.compile("".join(parts), re.DOTALL)


FAMILY_PATTERNS: dict[str, re.Pattern[str]] = {family.name: template_regex(family.template) for family in FAMILIES}


def family_of(message: str) -> str | None:
    """The family of a generated error message, ``LONG_TAIL`` for a one-off, None if unknown or ambiguous."""
    if message in _LONG_TAIL_SET:
        return LONG_TAIL
    matches = [name for name, pattern in FAMILY_PATTERNS.items() if pattern.fullmatch(message)]
    return matches[0] if len(matches) == 1 else None


def pick_family(rng: random.Random, status: TaskStatus, task_type: TaskType | None = None) -> FailureFamily | None:
    """A family for a task of this status (and type, if given), by weight; None if none fits."""
    fits = [
        family
        for family in FAMILIES
        if status in family.statuses
        and (task_type is None or family.task_types is None or task_type in family.task_types)
    ]
    if not fits:
        return None
    return rng.choices(fits, weights=[family.weight for family in fits])[0]


PIPELINES = ("nightly_catalog_sync", "etl_products_refresh", "hourly_transcripts_backfill", "weekly_faces_rebuild")
PIPELINE_STEPS = ("load_embeddings", "dedupe_rows", "write_index", "join_metadata")
_LETTERS = string.ascii_letters
_ALPHANUMERIC = string.ascii_letters + string.digits


def submission_id(rng: random.Random) -> str:
    """A Ray job submission id (``raysubmit_`` and 16 letters and digits); one in two has no digit at all."""
    alphabet = _LETTERS if rng.random() < 0.5 else _ALPHANUMERIC
    return "raysubmit_" + "".join(rng.choice(alphabet) for _ in range(16))


def _values(rng: random.Random, world: World, data: dict[str, Any]) -> dict[str, Any]:
    want, got = rng.choice(MIME_MISMATCHES)
    n = int(data.get("object_count") or rng.randint(5, 400))
    bucket_name = world.bucket_name(data.get("bucket_id")) or rng.choice(world.buckets)[1]
    return {
        "want": want,
        "got": got,
        "ext": EXTENSIONS[got],
        "job_id": data.get("job_id") or f"ray_job_{hex_id(rng, 6)}",
        "node": rng.choice(WORKER_NODES),
        "memory_gi": rng.choice((8, 16, 16, 32)),
        "extractor": data.get("feature_extractor") or rng.choice(EXTRACTORS),
        "secs": rng.choice((300, 600, 900, 1800)),
        "n": n,
        "failed": max(1, n // rng.randint(3, 20)),
        "bucket_name": bucket_name,
        "object_id": data.get("object_id") or f"obj_{hex_id(rng, 10)}",
        "collection_id": data.get("collection_id") or rng.choice(world.collections),
        "namespace_id": data.get("namespace_id") or rng.choice(world.namespaces),
        "size_mib": rng.randint(2049, 9000),
        "retries": rng.choice((3, 5, 5, 8)),
        "release": f"engine-v1.{rng.randint(30, 48)}.{rng.randint(0, 9)}",
    }


def _new_shape_values(rng: random.Random, template: str) -> dict[str, Any]:
    """Values only the newer families use, drawn only for them (older families' draws stay as they were)."""
    values: dict[str, Any] = {}
    if "{submission_id}" in template:
        values["submission_id"] = submission_id(rng)
    if "{pipeline}" in template:
        values.update(pipeline=rng.choice(PIPELINES), step=rng.choice(PIPELINE_STEPS))
    return values


def render(rng: random.Random, family: FailureFamily, world: World, data: dict[str, Any]) -> str:
    """One message of ``family`` for a task whose additional_data is ``data`` (its ids are reused).

    A partial family's counts go into ``data`` too, as the API reports them next to the message:
    ``failed_object_count`` and ``success_rate`` (a percentage) of ``object_count`` documents."""
    values = _values(rng, world, data) | _new_shape_values(rng, family.template)
    if "{failed}" in family.template:
        data.setdefault("object_count", values["n"])
        data["failed_object_count"] = values["failed"]
        data["success_rate"] = round(100 * (values["n"] - values["failed"]) / values["n"], 1)
    return family.template.format(**values)


def failure_message(
    rng: random.Random, world: World, status: TaskStatus, task_type: TaskType | None, data: dict[str, Any]
) -> str:
    """A message for a task that already has its type: a family that fits it, else any of the status."""
    family = pick_family(rng, status, task_type) or pick_family(rng, status) or FAMILIES[0]
    return render(rng, family, world, data)
