"""``inspect_batch``: one bounded answer on a batch: tiers, failed objects by class, the failing tier's log tail,
a sample of failed documents, and the literal next calls.

Three requests at most (the batch, its logs, its failed documents), four when the batch must first be found
through its task. A logs or failed-documents call that fails is reported as missing, not fatal: the batch
answer alone still tells most of the story (its ``tier_tasks[].ray_job_logs`` is the fallback log).
"""

from __future__ import annotations

from typing import Any

from ..batches_client import BatchesClient
from ..bounds import clip, within
from ..client import Credentials, MixpeekError, TasksClient
from ..models import ListTasksRequest
from .answer import render
from .arguments import InspectBatchArguments
from .bounds import EXAMPLES_PER_CLASS, FAILED_DOCUMENTS_FETCHED, FAILED_DOCUMENTS_SHOWN, MAX_TIERS_SHOWN
from .logs import tail
from .output import FailedRow, InspectBatchResult, LogResult, NextCall, TierRow
from .reading import (
    ACTIVE,
    CLASSES,
    BatchFacts,
    FailedDocument,
    class_counts,
    read_batch,
    read_failed_documents,
    read_logs,
)

FAILING = ("FAILED", "COMPLETED_WITH_ERRORS", "CANCELED", "INTERRUPTED")


def batch_filter(batch_id: str) -> dict[str, Any]:
    return {"AND": [{"field": "additional_data.batch_id", "operator": "eq", "value": batch_id}]}


async def bucket_from_task(tasks: TasksClient, batch_id: str, credentials: Credentials) -> str | None:
    """The bucket of the batch's newest task (``additional_data.bucket_id``), if a task carries the batch."""
    request = ListTasksRequest.model_validate({"filters": batch_filter(batch_id)})
    page = await tasks.list_tasks(request, credentials=credentials, limit=1)
    for task in page.results:
        bucket = (task.additional_data or {}).get("bucket_id")
        if isinstance(bucket, str) and bucket.strip():
            return bucket.strip()
    return None


async def fetch_batch(
    batches: BatchesClient, tasks: TasksClient, batch_id: str, bucket_id: str | None, credentials: Credentials
) -> tuple[Any, str | None]:
    """The raw batch and the bucket it was found in: by bucket when given, else org-level, else via its task."""
    try:
        if bucket_id:
            return await batches.get_batch(batch_id, credentials=credentials, bucket_id=bucket_id), bucket_id
        try:
            return await batches.get_batch(batch_id, credentials=credentials), None
        except MixpeekError as error:
            if error.status != 404:
                raise
        found = await bucket_from_task(tasks, batch_id, credentials)
        if found is None:
            raise MixpeekError(f"Batch {batch_id!r} was not found", status=404)
        return await batches.get_batch(batch_id, credentials=credentials, bucket_id=found), found
    except MixpeekError as error:
        if error.status != 404:
            raise
        where = f" in bucket {bucket_id!r}" if bucket_id else ""
        raise MixpeekError(
            f"Batch {batch_id!r} was not found{where} (HTTP 404), and no task names it in additional_data.batch_id. "
            "Check the id (list_tasks shows batch ids); give bucket_id if the batch is older than its tasks "
            "(Mixpeek keeps tasks about 24 hours).",
            status=404,
        ) from None


async def load_batch(
    batches: BatchesClient, tasks: TasksClient, batch_id: str, bucket_id: str | None, credentials: Credentials
) -> tuple[BatchFacts, str | None]:
    """The batch, read, and its bucket: the one given, else the batch's own, else where it was found. Where
    inspect_batch, cancel_tasks (a batch) and retry_batch all start, so they name the same bucket."""
    raw, found = await fetch_batch(batches, tasks, batch_id, bucket_id, credentials)
    facts = read_batch(batch_id, raw)
    return facts, bucket_id or facts.bucket_id or found


def choose_tier(facts: BatchFacts, asked: int | None) -> int | None:
    """The tier to show: the one asked for, else the first failing, else the running one, else the last."""
    if asked is not None:
        return asked
    for statuses in (("FAILED",), FAILING):
        for tier in facts.tiers:
            if (tier.status or "").upper() in statuses:
                return tier.tier_num
    running = [t.tier_num for t in facts.tiers if t.task_id and (t.status or "").upper() in ACTIVE]
    if running:
        return running[-1]
    failed_tiers = [doc.tier_num for doc in facts.failed if doc.tier_num is not None]
    if failed_tiers:
        return failed_tiers[0]
    return facts.tiers[-1].tier_num if facts.tiers else None


def _row(doc: FailedDocument) -> FailedRow:
    return FailedRow(object_id=doc.object_id, error_type=doc.error_type, error=doc.error, tier_num=doc.tier_num)


def examples(documents: list[FailedDocument]) -> list[FailedRow]:
    chosen: list[FailedRow] = []
    for kind in (*CLASSES, None):
        of_kind = [d for d in documents if (d.error_type if d.error_type in CLASSES else None) == kind]
        chosen += [_row(doc) for doc in of_kind[:EXAMPLES_PER_CLASS]]
    return chosen


def next_calls(facts: BatchFacts, bucket: str | None, classes: dict[str, int], writes: bool) -> list[NextCall]:
    calls = [NextCall(tool="list_tasks", arguments={"batch_id": facts.batch_id}, why="the batch's tasks, newest first")]
    located = {"batch_id": facts.batch_id, **({"bucket_id": bucket} if bucket else {})}
    if facts.active:
        calls.append(
            NextCall(
                tool="wait_for_task",
                arguments={"batch_id": facts.batch_id, "until": "none_active"},
                why="wait until none of its tasks is running",
            )
        )
        off = "" if writes else " (needs writes turned on: MIXPEEK_ALLOW_WRITES=1)"
        calls.append(NextCall(tool="cancel_tasks", arguments=located, why=f"stop it; asks for confirmation{off}"))
    elif classes.get("transient"):
        off = "" if writes else "; needs writes turned on by the operator (MIXPEEK_ALLOW_WRITES=1)"
        calls.append(
            NextCall(
                tool="retry_batch",
                arguments={**located, "retry_mode": "transient_only"},
                why=f"{classes['transient']:,} transient failures may succeed on a retry; asks for confirmation{off}",
            )
        )
    return calls


async def inspect_batch(
    checked: InspectBatchArguments,
    *,
    batches: BatchesClient,
    tasks: TasksClient,
    credentials: Credentials,
    writes_enabled: bool,
) -> tuple[str, InspectBatchResult]:
    facts, bucket = await load_batch(batches, tasks, checked.batch_id, checked.bucket_id, credentials)
    tier = choose_tier(facts, checked.tier_num)
    missing = list(facts.missing)
    log_text, source = None, "logs"
    documents: list[FailedDocument] = []
    total: int | None = None
    if bucket is None:
        missing.append("bucket_id (so no logs or failed documents could be asked for; give bucket_id)")
    else:
        try:
            log_text, notes = read_logs(
                await batches.batch_logs(bucket, checked.batch_id, credentials=credentials, tier_num=tier), tier
            )
            missing += notes
        except MixpeekError as error:
            missing.append(f"logs: {clip(str(error), 160)}")
        try:
            page = await batches.failed_documents(
                bucket,
                checked.batch_id,
                credentials=credentials,
                limit=FAILED_DOCUMENTS_FETCHED,
                tier_num=checked.tier_num,
            )
            documents, total, notes = read_failed_documents(page)
            missing += notes
        except MixpeekError as error:
            missing.append(f"failed documents: {clip(str(error), 160)}")
    if not log_text:
        stored = next((t.logs for t in facts.tiers if t.tier_num == tier and t.logs), None)
        if stored:
            log_text, source = stored, "ray_job_logs"
    counted = facts.failed if len(facts.failed) >= len(documents) else documents
    classes = dict(class_counts(counted))
    cut = tail(log_text, checked.log_lines) if log_text else None
    log = None
    if cut is not None:
        log = LogResult(tier_num=tier, source=source, lines=cut.lines, total_lines=cut.total_lines)
    result = InspectBatchResult(
        batch_id=checked.batch_id,
        bucket_id=bucket,
        status=facts.status,
        lifecycle=facts.lifecycle,
        reason=facts.reason,
        tiers=[
            TierRow(
                tier_num=t.tier_num,
                status=t.status,
                task_id=t.task_id,
                ray_job_status=t.ray_job_status,
                errors=t.errors or None,
            )
            for t in facts.tiers[:MAX_TIERS_SHOWN]
        ],
        tiers_left_out=max(0, len(facts.tiers) - MAX_TIERS_SHOWN) or None,
        failed_count=facts.failed_count if facts.failed_count is not None else total,
        failure_classes=classes,
        examples=examples(counted),
        failed_documents=[_row(doc) for doc in documents[:FAILED_DOCUMENTS_SHOWN]],
        log=log,
        missing=missing or None,
        next_calls=next_calls(facts, bucket, classes, writes_enabled),
        writes_enabled=writes_enabled,
    )
    text = render(result, cut)
    while not within(text, result) and result.log is not None and result.log.lines:  # pragma: no cover - bounds
        result.log.lines = result.log.lines[len(result.log.lines) // 2 :]
        text = render(result, None)
    return text, result
