"""The batch routes of the sandbox's /v1 API (``/v1/buckets/{bucket}/batches/...`` and ``/v1/batches/...``) and
the ``/_sandbox/batches`` admin route that makes a batch to order.

Routes: get_batch, batch_logs, failed_documents, cancel_batch, cancel_tier, retry_batch (each a fault route,
see ``faults.RouteName``). A batch that does not exist, or is looked up under another bucket, is a 404.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from .batch_content import failed_record, ray_log
from .batches import QUIRKS, Batch, BatchBook, Tier
from .errors import ApiError, field_error, validation_error
from .simulator import lifecycle_steps
from .store import TaskRecord
from .timeutil import now_iso

BATCH_ROUTES = ("get_batch", "batch_logs", "failed_documents", "cancel_batch", "cancel_tier", "retry_batch")
RETRY_KEYS = ("retry_mode", "tier_nums", "max_retry_count")


@dataclass(frozen=True)
class BatchTarget:
    """What a batch route names: the batch, its bucket (None on /v1/batches/...) and a tier."""

    batch_id: str
    bucket_id: str | None
    tier_num: int | None = None


def match_batch_route(method: str, raw_path: str) -> tuple[str | None, BatchTarget | None]:
    """``(operation, target)``; ``(None, None)`` when the path is no batch route; ``"!method"`` for 405."""
    parts = [unquote(part) for part in raw_path.strip("/").split("/")]
    if parts[:2] == ["v1", "batches"] and len(parts) >= 3 and parts[2] not in ("list", "queue"):
        target, rest = BatchTarget(parts[2], None), parts[3:]
    elif parts[:2] == ["v1", "buckets"] and len(parts) >= 5 and parts[3] == "batches":
        target, rest = BatchTarget(parts[4], parts[2]), parts[5:]
    else:
        return None, None
    table = {(): ("GET", "get_batch"), ("cancel",): ("POST", "cancel_batch")}
    if target.bucket_id is not None:
        table.update(
            {
                ("logs",): ("GET", "batch_logs"),
                ("failed-documents",): ("GET", "failed_documents"),
                ("retry",): ("POST", "retry_batch"),
            }
        )
    if len(rest) == 3 and rest[0] == "tiers" and rest[2] == "cancel" and target.bucket_id is not None:
        if not rest[1].isdigit():
            return None, None
        return ("cancel_tier" if method == "POST" else "!method"), replace(target, tier_num=int(rest[1]))
    entry = table.get(tuple(rest))
    if entry is None:
        return None, None
    return (entry[1] if method == entry[0] else "!method"), target


def _tier_query(query: dict[str, str]) -> int | None:
    raw = query.get("tier_num")
    if raw is None:
        return None
    if not raw.isdigit():
        raise field_error(["query", "tier_num"], "Input should be a valid integer", "int_parsing")
    return int(raw)


def _retry_body(body: Any) -> tuple[str, list[int] | None, int, list[str]]:
    """RetryBatchRequest, checked as Mixpeek's model does; undeclared keys become warnings."""
    if body is None:
        raise validation_error("Field required", [{"type": "missing", "location": ["body"], "message": "required"}])
    if not isinstance(body, dict):
        raise field_error(["body"], "Input should be a valid dictionary", "dict_type")
    mode = body.get("retry_mode", "transient_only")
    if mode not in ("transient_only", "all"):
        raise field_error(["body", "retry_mode"], "Input should be 'transient_only' or 'all'", "enum")
    tiers = body.get("tier_nums")
    if tiers is not None and (
        not isinstance(tiers, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in tiers)
    ):
        raise field_error(["body", "tier_nums"], "Input should be a list of integers", "list_type")
    most = body.get("max_retry_count", 3)
    if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 10:
        raise field_error(["body", "max_retry_count"], "Input should be from 1 to 10", "less_than_equal")
    warnings = [f"Unknown key {key!r} ignored" for key in body if key not in RETRY_KEYS]
    return mode, tiers or None, most, warnings


def dispatch_batch(
    book: BatchBook, operation: str, target: BatchTarget, query: dict[str, str], body: Any
) -> tuple[int, Any]:
    """Run one batch operation: ``(status, JSON payload)``; raises ApiError for 4xx."""
    batch = book.get(target.batch_id)
    if batch is None or (target.bucket_id is not None and target.bucket_id != batch.bucket_id):
        raise ApiError(
            404, f"Batch {target.batch_id} not found", code="batch_not_found", details={"batch_id": target.batch_id}
        )
    reason = query.get("reason")
    if operation == "get_batch":
        return 200, book.view(batch)
    if operation == "batch_logs":
        return 200, book.logs(batch, _tier_query(query))
    if operation == "failed_documents":
        return 200, book.failed_documents(batch, query)
    if operation == "cancel_batch":
        return 200, book.cancel(batch, reason)
    if operation == "cancel_tier":
        assert target.tier_num is not None
        return 200, book.cancel_tier(batch, target.tier_num, reason)
    mode, tiers, most, warnings = _retry_body(body)
    answer = book.retry(batch, mode, tiers, most)
    return 200, ({**answer, "warnings": warnings} if warnings else answer)


# -- admin -------------------------------------------------------------------------------------------------
def _text(value: Any, limit: int = 4_000_000) -> str | None:
    if value is None:
        return None
    return str(value)[:limit]


def make_batch(book: BatchBook, spec: dict[str, Any], rng: random.Random) -> Batch:
    """A batch to order: ``{"batch_id", "bucket_id", "tiers": [{"status", "logs", "duration_seconds",
    "final_status", "collection_ids"}], "failures": {"transient": 5, ...}, "failed_tier": 1, "quirks": [...],
    "refuse_ray_jobs": 1, "retry_seconds": 2}``. Each started tier gets a task in the store (running tiers keep
    running until canceled unless given a duration)."""
    batch_id = str(spec.get("batch_id") or f"btch_{rng.getrandbits(48):012x}")
    bucket = str(spec.get("bucket_id") or "bkt_products")
    namespace = spec.get("namespace_id")
    quirks = frozenset(str(q) for q in spec.get("quirks") or [])
    if quirks - QUIRKS:
        raise field_error(["body", "quirks"], f"unknown quirks {sorted(quirks - QUIRKS)}; known: {sorted(QUIRKS)}")
    raw_tiers = spec.get("tiers") or [{"status": "FAILED"}]
    if not isinstance(raw_tiers, list):
        raise field_error(["body", "tiers"], "tiers must be a list of objects")
    primary: str | None = None
    tiers: list[Tier] = []
    for number, raw in enumerate(raw_tiers):
        raw = raw if isinstance(raw, dict) else {}
        status = str(raw.get("status") or "PENDING")
        collections = [str(c) for c in raw.get("collection_ids") or [f"col_tier{number}"]]
        task_id = None
        if status != "PENDING" or raw.get("started"):
            task_id = str(raw.get("task_id") or f"task_{rng.getrandbits(64):016x}")
            error = raw.get("error") or (
                f"Tier {number} failed: see the failed documents" if status == "FAILED" else None
            )
            data = {
                "batch_id": batch_id,
                "bucket_id": bucket,
                "namespace_id": namespace,
                "total_tiers": len(raw_tiers),
                "current_tier": number,
                "collection_ids": collections,
                "object_count": int(spec.get("object_count") or 100),
            }
            if error:
                data["error"] = error
            doc = {
                "task_id": task_id,
                "task_type": "api_buckets_batches_process",
                "status": status,
                "inputs": [batch_id],
                "outputs": None,
                "error": error,
                "queue_position": None,
                "estimated_wait_minutes": None,
                "additional_data": data,
            }
            now = now_iso()
            book.store.upsert(TaskRecord(doc=doc, created_at=now, updated_at=now))
            book.timeline.cancel(task_id)
            if raw.get("duration_seconds") is not None:
                steps = lifecycle_steps(
                    rng, doc, float(raw["duration_seconds"]), str(raw.get("final_status") or "COMPLETED")
                )
                book.timeline.schedule(task_id, steps)
            primary = primary or task_id
        logs = _text(raw.get("logs"))
        if logs is None and task_id is not None and status not in ("IN_PROGRESS", "PROCESSING", "QUEUED"):
            outcome = {"FAILED": "FAILED", "CANCELED": "STOPPED"}.get(status, "SUCCEEDED")
            logs = ray_log(rng, number, outcome, raw.get("error"))
        tiers.append(Tier(number, task_id, status, collections, f"raysubmit_{rng.getrandbits(64):016x}", logs))
    failed_tier = int(spec.get("failed_tier", next((t.tier_num for t in tiers if t.status == "FAILED"), 0)))
    failed = []
    for kind, count in (spec.get("failures") or {}).items():
        if kind not in ("transient", "permanent", "resource"):
            raise field_error(["body", "failures", kind], "failure classes: transient, permanent, resource")
        failed += [
            failed_record(rng, failed_tier, kind, tiers[failed_tier].collection_ids[0]) for _ in range(int(count))
        ]
    batch = Batch(
        batch_id,
        bucket,
        namespace if isinstance(namespace, str) else None,
        primary or f"task_{rng.getrandbits(64):016x}",
        tiers,
        failed,
        int(spec.get("object_count") or 100),
        quirks,
        int(spec.get("refuse_ray_jobs") or 0),
        float(spec.get("retry_seconds") or 2.0),
    )
    book.add(batch)
    return batch


class BatchAdmin:
    """``POST /_sandbox/batches`` (make one; answers its BatchModel view) and ``DELETE`` (forget all)."""

    def __init__(self, book: BatchBook, rng: random.Random) -> None:
        self.book = book
        self.rng = rng

    async def handle(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.book.clear()
            return Response('{"batches": []}', media_type="application/json")
        try:
            raw = await request.body()
            spec = json.loads(raw) if raw.strip() else {}
            if not isinstance(spec, dict):
                raise field_error(["body"], "a batch is a JSON object", "dict_type")
            batch = make_batch(self.book, spec, self.rng)
            payload, status = self.book.view(batch), 201
        except ApiError as error:
            payload, status = error.envelope(), error.status
        except (ValueError, TypeError) as error:
            payload, status = field_error(["body"], str(error)).envelope(), 422
        return Response(json.dumps(payload), status_code=status, media_type="application/json")
