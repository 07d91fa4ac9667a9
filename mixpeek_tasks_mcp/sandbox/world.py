"""The made-up account the generated tasks belong to (namespaces, buckets, collections, ids) and the
details of one task in it (``task_details``: additional_data, inputs, outputs).

Shared by the task generator, the failure families and the live simulator. Everything is drawn from a
seeded RNG, so the same seed gives the same world.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from ..enums import TaskStatus, TaskType

S = TaskStatus
T = TaskType

EXTRACTORS = ("clip-vit-l14", "text-embed-3-small", "whisper-large-v3", "siglip-so400m", "e5-large-v2")
MIME_MISMATCHES = (
    ("application/pdf", "image/png"),
    ("video/mp4", "video/quicktime"),
    ("image/jpeg", "image/heic"),
    ("audio/wav", "audio/mpeg"),
    ("application/pdf", "application/msword"),
)
EXTENSIONS = {
    "image/png": "png",
    "video/quicktime": "mov",
    "image/heic": "heic",
    "audio/mpeg": "mp3",
    "application/msword": "doc",
}
BUCKET_NAMES = ("products", "support-videos", "contracts", "podcasts", "catalog-images", "lectures")
WORKER_NODES = ("ip-10-0-3-17", "ip-10-0-7-212", "ip-10-0-1-88", "ip-10-0-12-4", "ip-10-0-9-141")
COLLECTION_NAMES = ("text", "images", "scenes", "transcripts", "faces", "captions")

RAY_TYPES = frozenset(
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
"""Task types that run as Ray jobs (their additional_data has a job_id)."""
BATCH_SIZES = (12, 50, 250, 1000, 4800, 10000)
FAILED_BATCH_SIZES = (250, 2400, 4800, 4800, 10000, 10000)

Bucket = tuple[str, str, str]
"""(bucket_id, bucket name, namespace_id)."""


def hex_id(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def task_uuid(rng: random.Random) -> str:
    """A UUIDv4 drawn from the seeded RNG (so ids repeat for the same seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class World:
    """Namespaces, buckets and collections the generated tasks refer to."""

    def __init__(self, rng: random.Random) -> None:
        self.namespaces = [f"ns_{hex_id(rng, 10)}" for _ in range(4)]
        self.buckets: list[Bucket] = [
            (f"bkt_{name.replace('-', '_')}", name, rng.choice(self.namespaces)) for name in BUCKET_NAMES
        ]
        self.collections = [f"col_{name}_{hex_id(rng, 6)}" for name in COLLECTION_NAMES]
        self.clusters = [f"clust_{hex_id(rng, 8)}" for _ in range(5)]
        self.taxonomies = [f"tax_{hex_id(rng, 8)}" for _ in range(4)]
        self.retrievers = [f"ret_{hex_id(rng, 8)}" for _ in range(4)]

    def bucket_name(self, bucket_id: object) -> str | None:
        for known_id, name, _ in self.buckets:
            if known_id == bucket_id:
                return name
        return None


def task_details(rng: random.Random, world: World, task_type: TaskType, status: TaskStatus) -> dict[str, Any]:
    """additional_data, inputs and outputs for one task (returned together in one dict)."""
    bucket_id, _, namespace_id = rng.choice(world.buckets)
    data: dict[str, Any] = {"namespace_id": namespace_id}
    inputs: list[Any] = []
    outputs: list[Any] | None = None
    finished_ok = status in (S.COMPLETED, S.COMPLETED_WITH_ERRORS)
    if task_type in RAY_TYPES:
        data["job_id"] = f"ray_job_{hex_id(rng, 6)}"
    if task_type is T.API_BUCKETS_BATCHES_PROCESS:
        tiers = rng.choice((1, 2, 2, 3, 3, 4))
        # Big batches are the ones that run out of memory or time: failed runs skew large.
        count = rng.choice(FAILED_BATCH_SIZES if status is S.FAILED else BATCH_SIZES)
        batch_id = f"btch_{hex_id(rng, 10)}"
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
            sample_object_ids=[f"obj_{hex_id(rng, 10)}" for _ in range(min(5, count))],
        )
        inputs = [batch_id]
        if finished_ok:
            outputs = [{"batch_id": batch_id, "documents_written": count * tiers, "tiers_completed": tiers}]
    elif task_type in (T.API_BUCKETS_OBJECTS_CREATE, T.API_BUCKETS_UPLOADS_CONFIRM, T.API_BUCKETS_UPLOADS_CREATE):
        object_id = f"obj_{hex_id(rng, 10)}"
        data.update(bucket_id=bucket_id, object_id=object_id)
        inputs = [{"bucket_id": bucket_id, "object_id": object_id}]
        if finished_ok:
            outputs = [object_id]
    elif task_type in (T.API_BUCKETS_BATCHES_SUBMIT, T.API_BUCKETS_UPLOADS_BATCH_CONFIRM):
        batch_id = f"btch_{hex_id(rng, 10)}"
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
    elif task_type.value.startswith(("engine_", "api_collections_")) or task_type in RAY_TYPES:
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
