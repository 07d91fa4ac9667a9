"""The known dataset and keys the sandbox tests share (imported by conftest and the test modules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

PRIMARY_KEY = "sk_test_primary_123"
SECOND_KEY = "sk_test_secondary_456"
BASE_TIME = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)

STATUSES = ["COMPLETED", "FAILED", "COMPLETED_WITH_ERRORS", "CANCELED", "IN_PROGRESS", "PENDING", "QUEUED"]
TYPES = [
    "api_buckets_batches_process",
    "api_buckets_objects_create",
    "engine_feature_extractor_run",
    "engine_cluster_build",
    "thumbnail",
]
BUCKETS = ["bkt_products", "bkt_Contracts", "bkt_podcasts"]
ERRORS = [
    "Invalid file format: Expected PDF, got PNG",
    "Ray job ray_job_8f2 failed: OOMKilled on worker ip-10-0-3-17",
    "S3 access denied for s3://products-raw/obj_1.png",
]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_dataset() -> list[dict[str, Any]]:
    """40 tasks with varied fields; created_at values come in pairs so sort ties are exercised."""
    tasks: list[dict[str, Any]] = []
    for i in range(40):
        status = STATUSES[i % 7]
        task: dict[str, Any] = {
            "task_id": f"task_{i:03d}",
            "task_type": TYPES[i % 5],
            "status": status,
            "inputs": [f"input_{i}"],
            "created_at": iso(BASE_TIME + timedelta(hours=(i * 7) % 20)),
        }
        if i % 4 != 3:
            data: dict[str, Any] = {
                "bucket_id": BUCKETS[i % 3],
                "object_count": (i * 13) % 50,
                "namespace_id": "ns_a" if i % 2 else "ns_b",
            }
            if i % 5 == 0:
                data["priority_flag"] = True
            if i % 6 == 0:
                data["note"] = None
            task["additional_data"] = data
        else:
            task["additional_data"] = None
        if status in ("FAILED", "COMPLETED_WITH_ERRORS"):
            task["error"] = ERRORS[i % 3]
            if task["additional_data"] is not None:
                task["additional_data"]["error"] = ERRORS[i % 3]
        tasks.append(task)
    return tasks


DATASET = build_dataset()


def auth(key: str = PRIMARY_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
