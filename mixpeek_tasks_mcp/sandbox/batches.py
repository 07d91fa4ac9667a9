"""Batches of the sandbox: one per ``btch_`` id, with tiers, failed objects and Ray logs.

A batch is either made by ``POST /_sandbox/batches`` (``batch_admin.py``) or derived, on first look, from the
generated task that carries its id (``additional_data.batch_id``): tiers before ``current_tier`` completed, the
current one run by that task, later ones not started. A tier's status is its task's status whenever it has a
task, so a kill, a cancel or a retry that moves tasks moves the batch too. Response shapes follow the SDK's
models where Mixpeek has them (BatchModel, TierTaskInfo, FailedObjectRecord, CancellationOutcome); where it has
none (logs, failed documents, retry) the sandbox picks a plausible one, and ``quirks`` serve odd ones.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from ..statuses import ACTIVE
from .batch_content import failed_record, ray_log, seed_of, whole
from .errors import ApiError
from .simulator import TERMINAL, Timeline, apply_patch, lifecycle_steps
from .store import TaskRecord, TaskStore
from .timeutil import now_iso

ACTIVE_STATUSES = frozenset(status.value for status in ACTIVE)
PROCESS_TYPE = "api_buckets_batches_process"
QUIRKS = frozenset({"unstructured_logs", "unstructured_failed", "sparse_batch", "retry_without_task_ids"})
"""Undocumented corners a batch can be made to show: logs as one bare JSON string, failed documents as a bare
list with other key names, a batch without tier_tasks, a retry answer that names no task."""
LIFECYCLE = {
    "PENDING": "queued",
    "QUEUED": "queued",
    "IN_PROGRESS": "extracting",
    "PROCESSING": "extracting",
    "COMPLETED": "indexed",
    "COMPLETED_WITH_ERRORS": "indexed",
    "FAILED": "failed",
    "CANCELED": "canceled",
}
RAY_STATUS = {"PENDING": "PENDING", "QUEUED": "PENDING", "IN_PROGRESS": "RUNNING", "PROCESSING": "RUNNING"}
RAY_FINAL = {"COMPLETED": "SUCCEEDED", "COMPLETED_WITH_ERRORS": "SUCCEEDED", "FAILED": "FAILED", "CANCELED": "STOPPED"}


@dataclass
class Tier:
    tier_num: int
    task_id: str | None
    status: str
    """Used only while the tier has no task (not started, or canceled before it started)."""
    collection_ids: list[str] = field(default_factory=list)
    ray_job_id: str | None = None
    logs: str | None = None
    logs_at: str = field(default_factory=now_iso)
    """When the log tail was captured (``ray_job_logs_captured_at``)."""


@dataclass
class Batch:
    batch_id: str
    bucket_id: str
    namespace_id: str | None
    task_id: str
    tiers: list[Tier]
    failed: list[dict[str, Any]]
    object_count: int
    quirks: frozenset[str] = frozenset()
    refuse_ray_jobs: int = 0
    """How many of the Ray jobs a cancel reaches refuse to stop (their tasks keep running)."""
    retry_seconds: float = 2.0
    created_at: str = field(default_factory=now_iso)
    reason: str | None = None


class BatchBook:
    """Every batch the sandbox has shown or been given; thread-safe (HTTP handlers and the timeline)."""

    def __init__(self, store: TaskStore, timeline: Timeline) -> None:
        self.store = store
        self.timeline = timeline
        self._batches: dict[str, Batch] = {}
        self._lock = threading.RLock()

    def add(self, batch: Batch) -> None:
        with self._lock:
            self._batches[batch.batch_id] = batch

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def get(self, batch_id: str) -> Batch | None:
        with self._lock:
            known = self._batches.get(batch_id)
            if known is None:
                known = self._derive(batch_id)
                if known is not None:
                    self._batches[batch_id] = known
            return known

    def _derive(self, batch_id: str) -> Batch | None:
        rows = self.store.select(
            "json_extract(doc, '$.additional_data.batch_id') = ? COLLATE NOCASE", (batch_id,), "created_at", False, 20
        )
        found = [self.store.get(row.task_id) for row in rows]
        records = [record for record in found if record is not None]
        if not records:
            return None
        record = next((r for r in records if r.doc.get("task_type") == PROCESS_TYPE), records[0])
        doc, data = record.doc, record.doc.get("additional_data") or {}
        rng = random.Random(seed_of(batch_id))
        total = max(1, min(whole(data.get("total_tiers"), 1), 8))
        current = max(0, min(whole(data.get("current_tier"), 0), total - 1))
        collections = [str(c) for c in data.get("collection_ids") or []]
        tiers = []
        for number in range(total):
            collection = [collections[number]] if number < len(collections) else []
            task = record.task_id if number == current else None
            status = "COMPLETED" if number < current else "PENDING"
            logs = None
            if number < current:
                logs = ray_log(rng, number, "SUCCEEDED", None, lines=12)
            elif number == current and doc.get("status") in TERMINAL:
                logs = ray_log(rng, number, RAY_FINAL.get(str(doc.get("status")), "FAILED"), doc.get("error"))
            job = f"raysubmit_{rng.getrandbits(64):016x}"
            tiers.append(Tier(number, task, status, collection, job, logs))
        count = whole(data.get("object_count"), 100)
        failed: list[dict[str, Any]] = []
        if doc.get("status") in ("FAILED", "COMPLETED_WITH_ERRORS"):
            for _ in range(min(count, rng.randint(4, 30))):
                kind = rng.choices(("transient", "permanent", "resource"), weights=(5, 3, 2))[0]
                failed.append(
                    failed_record(rng, current, kind, collections[current] if current < len(collections) else None)
                )
        bucket = str(data.get("bucket_id") or "bkt_unknown")
        namespace = data.get("namespace_id")
        return Batch(
            batch_id,
            bucket,
            namespace if isinstance(namespace, str) else None,
            record.task_id,
            tiers,
            failed,
            count,
            created_at=record.created_at,
        )

    # -- reading ---------------------------------------------------------------------------------------
    def _task(self, task_id: str | None) -> dict[str, Any] | None:
        record = self.store.get(task_id) if task_id else None
        return record.doc if record is not None else None

    def tier_status(self, tier: Tier) -> str:
        task = self._task(tier.task_id)
        return str(task.get("status")) if task is not None else tier.status

    def status(self, batch: Batch) -> str:
        statuses = [self.tier_status(tier) for tier in batch.tiers]
        started = [tier.task_id is not None for tier in batch.tiers]
        if any(s in ACTIVE_STATUSES and has for s, has in zip(statuses, started, strict=True)):
            return "IN_PROGRESS" if any(s not in ("PENDING", "QUEUED") for s in statuses) else "PENDING"
        for final in ("FAILED", "CANCELED"):
            if final in statuses:
                return final
        if all(s == "COMPLETED" or s == "COMPLETED_WITH_ERRORS" for s in statuses):
            return "COMPLETED_WITH_ERRORS" if batch.failed else "COMPLETED"
        return "PENDING"

    def view(self, batch: Batch) -> dict[str, Any]:
        """The batch as ``GET .../batches/{batch_id}`` renders a BatchModel."""
        status = self.status(batch)
        error_summary: dict[str, int] = {}
        for item in batch.failed:
            error_summary[item["error_type"]] = error_summary.get(item["error_type"], 0) + 1
        if "sparse_batch" in batch.quirks:
            return {"batch_id": batch.batch_id, "bucket_id": batch.bucket_id, "status": status}
        failing = [self._task(t.task_id) for t in batch.tiers if self.tier_status(t) == "FAILED"]
        failure = next((str(doc["error"]) for doc in failing if doc and doc.get("error")), None)
        tiers = [self._tier_view(tier) for tier in batch.tiers]
        current = max((t["tier_num"] for t in tiers if t["task_id"] is not None), default=0)
        return {
            "batch_id": batch.batch_id,
            "bucket_id": batch.bucket_id,
            "namespace_id": batch.namespace_id,
            "status": status,
            "lifecycle": LIFECYCLE.get(status),
            "lifecycle_reason": failure,
            "status_message": f"{status}: {len(batch.failed)} of {batch.object_count:,} objects failed",
            "task_id": batch.task_id,
            "tier_tasks": tiers,
            "current_tier": current,
            "total_tiers": len(batch.tiers),
            "failure_reason": failure,
            "failure_category": "pipeline" if failure else None,
            "error_summary": error_summary or None,
            "failed_objects": [
                {k: item[k] for k in ("object_id", "error", "error_type", "timestamp")} for item in batch.failed[:50]
            ],
            "failed_object_count": len(batch.failed),
            "max_node_death_resubmits": 3,
            "max_deploy_resubmits": 3,
            "created_at": batch.created_at,
            "updated_at": now_iso(),
        }

    def _tier_view(self, tier: Tier) -> dict[str, Any]:
        status = self.tier_status(tier)
        started = tier.task_id is not None
        ray = RAY_STATUS.get(status) or RAY_FINAL.get(status) if started else None
        return {
            "tier_num": tier.tier_num,
            "task_id": tier.task_id,
            "status": status,
            "collection_ids": tier.collection_ids,
            "source_type": "bucket" if tier.tier_num == 0 else "collection",
            "ray_job_id": tier.ray_job_id if started else None,
            "ray_job_status": ray,
            "ray_job_logs": tier.logs,
            "ray_job_logs_captured_at": tier.logs_at if tier.logs else None,
        }

    def logs(self, batch: Batch, tier_num: int | None) -> Any:
        """``GET .../logs``: undocumented; here ``{"batch_id", "logs": [{tier_num, ray_job_id, status, logs}]}``."""
        tiers = [t for t in batch.tiers if tier_num is None or t.tier_num == tier_num]
        if tier_num is not None and not tiers:
            raise ApiError(404, f"Batch {batch.batch_id} has no tier {tier_num}", code="tier_not_found")
        if "unstructured_logs" in batch.quirks:
            return "\n".join(t.logs or "" for t in tiers)
        entries = [
            {"tier_num": t.tier_num, "ray_job_id": t.ray_job_id, "status": self.tier_status(t), "logs": t.logs or ""}
            for t in tiers
        ]
        return {"batch_id": batch.batch_id, "logs": entries}

    def failed_documents(self, batch: Batch, query: dict[str, str]) -> Any:
        """``GET .../failed-documents``: undocumented; here ``{"results": [...], "total", "limit", "offset"}``."""
        items = list(batch.failed)
        if query.get("tier_num", "").isdigit():
            items = [item for item in items if item["tier_num"] == int(query["tier_num"])]
        if query.get("collection_id"):
            items = [item for item in items if item.get("collection_id") == query["collection_id"]]
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 100
        offset = int(query["offset"]) if query.get("offset", "").isdigit() else 0
        page = items[offset : offset + limit]
        if "unstructured_failed" in batch.quirks:
            return [{"id": item["object_id"], "reason": item["error"], "class": item["error_type"]} for item in page]
        return {"batch_id": batch.batch_id, "results": page, "total": len(items), "limit": limit, "offset": offset}

    # -- acting ----------------------------------------------------------------------------------------
    def _stop(self, batch: Batch, tiers: list[Tier], reason: str | None) -> dict[str, int]:
        """Cancel these tiers' tasks; the first ``refuse_ray_jobs`` running jobs refuse and keep running."""
        requested = accepted = refused = 0
        for tier in tiers:
            status = self.tier_status(tier)
            if tier.task_id is None:
                tier.status = "CANCELED"
                continue
            if status not in ACTIVE_STATUSES:
                continue
            requested += 1
            if refused < batch.refuse_ray_jobs:
                refused += 1
                continue
            accepted += 1
            self.timeline.cancel(tier.task_id)
            patch = {"status": "CANCELED", "additional_data": {"canceled_by": "user", "cancel_reason": reason}}
            self.store.update(tier.task_id, lambda doc, patch=patch: apply_patch(doc, patch))  # type: ignore[misc]
        batch.reason = reason or batch.reason
        return {"ray_jobs_requested": requested, "ray_jobs_accepted": accepted, "ray_jobs_refused": refused}

    def _refuse_finished(self, what: str, status: str) -> None:
        raise ApiError(
            409,
            f"{what} is {status}; only a submitted or processing batch can be canceled",
            code="batch_not_cancelable",
            details={"status": status},
        )

    def cancel(self, batch: Batch, reason: str | None) -> dict[str, Any]:
        """``POST .../cancel``: the primary TaskResponse with ``cancellation``; 409 for a finished batch
        (Mixpeek documents no status for this, nor idempotency)."""
        with self._lock:
            status = self.status(batch)
            if status not in ACTIVE_STATUSES:
                self._refuse_finished(f"Batch {batch.batch_id}", status)
            outcome = self._stop(batch, batch.tiers, reason)
            task = self._task(batch.task_id) or {"task_id": batch.task_id}
            return {**task, "cancellation": outcome}

    def cancel_tier(self, batch: Batch, tier_num: int, reason: str | None) -> dict[str, Any]:
        with self._lock:
            tier = next((t for t in batch.tiers if t.tier_num == tier_num), None)
            if tier is None:
                raise ApiError(404, f"Batch {batch.batch_id} has no tier {tier_num}", code="tier_not_found")
            status = self.tier_status(tier)
            if status not in ACTIVE_STATUSES:
                self._refuse_finished(f"Tier {tier_num} of batch {batch.batch_id}", status)
            outcome = self._stop(batch, [tier], reason)
            return {"batch_id": batch.batch_id, "tier_num": tier_num, "status": self.tier_status(tier), **outcome}

    def retry(self, batch: Batch, mode: str, tier_nums: list[int] | None, max_retry_count: int) -> dict[str, Any]:
        """``POST .../retry``: a new run (a new task) of each tier with matching failures; transient ones
        succeed on it, the others fail again. Refused (409) while the batch is still running."""
        with self._lock:
            status = self.status(batch)
            if status in ACTIVE_STATUSES:
                raise ApiError(
                    409,
                    f"Batch {batch.batch_id} is {status}; retry it once it has finished",
                    code="batch_in_progress",
                    details={"status": status},
                )
            kinds = ("transient",) if mode == "transient_only" else ("transient", "permanent", "resource")
            chosen = [
                item
                for item in batch.failed
                if item["error_type"] in kinds
                and (not tier_nums or item["tier_num"] in tier_nums)
                and item["retry_count"] < max_retry_count
            ]
            runs = []
            for tier in batch.tiers:
                documents = [item for item in chosen if item["tier_num"] == tier.tier_num]
                if documents:
                    runs.append(self._rerun(batch, tier, documents, mode))
            answer: dict[str, Any] = {
                "batch_id": batch.batch_id,
                "retry_mode": mode,
                "retried_document_count": len(chosen),
                "skipped_document_count": len(batch.failed) - len(chosen),
                "tiers": runs,
                "message": f"Retrying {len(chosen)} failed documents" if chosen else "No failed documents to retry",
            }
            if "retry_without_task_ids" in batch.quirks:
                answer["tiers"] = [{"tier_num": run["tier_num"]} for run in runs]
            elif runs:
                answer["task_id"] = runs[0]["task_id"]
            return answer

    def _rerun(self, batch: Batch, tier: Tier, documents: list[dict[str, Any]], mode: str) -> dict[str, Any]:
        rng = random.Random(seed_of(f"{batch.batch_id}:{tier.tier_num}:{now_iso()}"))
        task_id = f"task_{rng.getrandbits(64):016x}"
        stays_failed = [item for item in documents if item["error_type"] != "transient"]
        final = "COMPLETED_WITH_ERRORS" if stays_failed else "COMPLETED"
        doc = {
            "task_id": task_id,
            "task_type": PROCESS_TYPE,
            "status": "PENDING",
            "inputs": [batch.batch_id],
            "outputs": None,
            "error": None,
            "queue_position": None,
            "estimated_wait_minutes": None,
            "additional_data": {
                "batch_id": batch.batch_id,
                "bucket_id": batch.bucket_id,
                "namespace_id": batch.namespace_id,
                "total_tiers": len(batch.tiers),
                "current_tier": tier.tier_num,
                "object_count": len(documents),
                "retry_of_task_id": tier.task_id,
                "retry_mode": mode,
            },
        }
        now = now_iso()
        self.store.upsert(TaskRecord(doc=doc, created_at=now, updated_at=now))
        error = f"{len(stays_failed)} of {len(documents)} objects failed again" if stays_failed else None
        self.timeline.schedule(task_id, lifecycle_steps(rng, doc, batch.retry_seconds, final, error))
        tier.task_id = task_id
        for item in documents:
            item["retry_count"] += 1

        def settle() -> None:
            with self._lock:
                record = self.store.get(task_id)
                if record is not None and record.doc.get("status") in ("COMPLETED", "COMPLETED_WITH_ERRORS"):
                    healed = {id(item) for item in documents if item["error_type"] == "transient"}
                    batch.failed = [item for item in batch.failed if id(item) not in healed]
                    tier.logs = ray_log(rng, tier.tier_num, "SUCCEEDED", error, lines=10)
                    tier.logs_at = now_iso()

        self.timeline.call_later(batch.retry_seconds + 0.05, settle, task_id)
        return {"tier_num": tier.tier_num, "task_id": task_id, "documents": len(documents)}
