"""What each tool says about itself: what it does, its arguments in words, and examples.

Each stays within ``MAX_DESCRIPTION`` characters: 10 % under the 1,024 some OpenAI-based clients enforce on tool
descriptions, so the next word anyone adds does not cut it. The schemas carry the rest (every enum, every field's
description).
"""

from __future__ import annotations

CLIENT_DESCRIPTION_CAP = 1024
MAX_DESCRIPTION = CLIENT_DESCRIPTION_CAP * 9 // 10
"""921 characters."""

LIST_STATUSES = (
    "Statuses: PENDING QUEUED IN_PROGRESS PROCESSING (active), COMPLETED, COMPLETED_WITH_ERRORS (some items "
    "failed), FAILED CANCELED INTERRUPTED, DRAFT SKIPPED UNKNOWN, entity statuses ACTIVE ARCHIVED SUSPENDED "
    "DEACTIVATED."
)

LIST_TASKS_DESCRIPTION = f"""List Mixpeek tasks (batch ingestion, extraction, clustering, taxonomy jobs) \
with filters, sort, search and paging: a line per task (id, type, status, tier, objects, batch/bucket ids, the \
error of failed ones), the page's status counts, the total, and the exact call for the next page. Newest first \
unless sorted. Why many fail: triage_tasks.

{LIST_STATUSES}
status, task_type: one value each (several: filters with operator "in").

Examples:
- {{"status": "FAILED"}}
- A batch: {{"batch_id": "btch_x"}}
- Failed or canceled in one bucket: {{"filters": {{"AND": [{{"field": "status", "operator": "in", "value": \
["FAILED", "CANCELED"]}}, {{"field": "additional_data.bucket_id", "operator": "eq", "value": "bkt_products"}}]}}}}"""

WAIT_FOR_TASK_DESCRIPTION = """Wait for Mixpeek tasks to finish, or until timeout_seconds (default 45, under \
many clients' ~60 s tool-call timeout) runs out: not an error, the answer gives the call to keep waiting.
One task: task_id. Outcomes: success, partial (COMPLETED_WITH_ERRORS), failure (FAILED, CANCELED, INTERRUPTED; with \
the error), stalled (DRAFT, SKIPPED, entity statuses), reached (a wait_for status), timed_out.
Many: task_ids (up to 50) with until "all" (default) or "any" (the first to finish, failures included). Or a \
selection (batch_id/status/task_type/filters/search as in list_tasks) with until "none_active": no matching \
task active (follows at most 50).
Unknown ids are errors (tasks age out after ~24 h).
Examples:
- Check once: {"task_id": "task_abc123", "timeout_seconds": 0}
- {"task_ids": ["task_a", "task_b"], "until": "any"}
- Until batch btch_x is done: {"batch_id": "btch_x"}"""

TRIAGE_TASKS_DESCRIPTION = (
    "What is failing or stuck across many Mixpeek tasks, and why, in one call. Scans the matching tasks newest "
    "first (up to max_tasks, default 2000, within timeout_seconds, default 30) and groups failures by cause: the "
    "error text with ids, numbers, sizes, urls and names masked. Each group: count, share, statuses, task types, "
    "top buckets/batches, first/last seen, example ids, a sample error, and the list_tasks call for its tasks. "
    "Flags active tasks that look stuck, with the reason. States its coverage (scanned N of M, and why it "
    "stopped).\n\n"
    "Takes the same status, task_type, filters, search and batch_id as list_tasks. With none, it triages FAILED, "
    "COMPLETED_WITH_ERRORS, CANCELED, INTERRUPTED and the active statuses.\n\n"
    "Examples:\n"
    "- Why are tasks failing? {}\n"
    '- Failed batch runs: {"task_type": "api_buckets_batches_process", "status": "FAILED"}\n'
    '- One bucket: {"filters": {"additional_data.bucket_id": "bkt_products"}}'
)
