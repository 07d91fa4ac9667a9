"""What each tool says about itself: what it does, its arguments in words, and examples.

Each stays within 1,024 characters, the cap some OpenAI-based clients still enforce on tool descriptions; the
schemas carry the rest (every enum, every field's description).
"""

from __future__ import annotations

LIST_STATUSES = (
    "Statuses: PENDING QUEUED IN_PROGRESS PROCESSING (active), COMPLETED, COMPLETED_WITH_ERRORS (some items "
    "failed), FAILED CANCELED INTERRUPTED, DRAFT SKIPPED UNKNOWN, entity statuses ACTIVE ARCHIVED SUSPENDED "
    "DEACTIVATED."
)

LIST_TASKS_DESCRIPTION = f"""List Mixpeek tasks (batch ingestion, feature extraction, clustering, taxonomy jobs) \
with filters, sort, text search and pagination: one compact line per task (id, type, status, tier, objects, \
batch/bucket ids, the error of failed ones), the page's status counts, the total, and the exact call for the next \
page. Newest first unless you pass sort. Why many fail: triage_tasks.

{LIST_STATUSES}
status and task_type take one value each; for several use filters with operator "in".

Examples:
- {{"status": "FAILED"}}
- A batch: {{"batch_id": "btch_x"}}
- Failed or canceled in one bucket: {{"filters": {{"AND": [{{"field": "status", "operator": "in", "value": \
["FAILED", "CANCELED"]}}, {{"field": "additional_data.bucket_id", "operator": "eq", "value": "bkt_products"}}]}}}}
- Next page: the call the answer gives (offset or cursor)."""

WAIT_FOR_TASK_DESCRIPTION = """Wait for Mixpeek tasks to finish; returns when they do or when timeout_seconds \
(default 45, under the ~60 s tool-call timeout of many clients) runs out. Running out is not an error: the \
answer gives the call to keep waiting.
One task: task_id. Outcomes: success, partial (COMPLETED_WITH_ERRORS), failure (FAILED, CANCELED, INTERRUPTED; with \
the error), stalled (DRAFT, SKIPPED, entity statuses: returned at once), reached (a wait_for status), timed_out.
Many: task_ids (up to 50) with until "all" (default) or "any" (the first to finish, whatever its outcome, \
failures included). Or a selection (batch_id/status/task_type/filters/search as in list_tasks) with until \
"none_active": no matching task PENDING/QUEUED/IN_PROGRESS/PROCESSING (follows at most 50; says how many more).
Unknown ids are errors (tasks age out after ~24 h).
Examples:
- Check once: {"task_id": "task_abc123", "timeout_seconds": 0}
- {"task_ids": ["task_a", "task_b"], "until": "any"}
- Until batch btch_x is done: {"batch_id": "btch_x"}"""

TRIAGE_TASKS_DESCRIPTION = (
    "What is failing or stuck across many Mixpeek tasks, and why, in one call. Scans the matching tasks newest "
    "first (up to max_tasks, default 2000, within timeout_seconds, default 30) and groups failures by cause: the "
    "error text with ids, numbers, sizes, urls and names masked. Each group: count, share, statuses, task types, "
    "top buckets/batches, first/last seen, example task ids, a sample error, and the list_tasks call that lists "
    "its tasks. Also flags active tasks that look stuck, with the reason. Always states coverage (scanned N of M, "
    "and why it stopped): a partial scan is not the whole picture.\n\n"
    "Takes the same status, task_type, filters, search and batch_id as list_tasks. With none, it triages FAILED, "
    "COMPLETED_WITH_ERRORS, CANCELED, INTERRUPTED and the active statuses.\n\n"
    "Examples:\n"
    "- Why are tasks failing? {}\n"
    '- Failed batch runs: {"task_type": "api_buckets_batches_process", "status": "FAILED"}\n'
    '- One bucket: {"filters": {"additional_data.bucket_id": "bkt_products"}}'
)
