"""What the batch tools say about themselves (each within 921 characters; the schemas carry the rest)."""

from __future__ import annotations

INSPECT_BATCH_DESCRIPTION = """What exactly went wrong in one Mixpeek batch: its status (e.g. FAILED, or \
COMPLETED_WITH_ERRORS when some objects failed) and lifecycle, each tier's status and Ray job, failed objects \
counted by class (transient, permanent, resource) with examples, the failing \
tier's log tail (last lines, capped, fenced as untrusted text), a sample of failed documents, and the literal next \
calls (list_tasks and wait_for_task for the batch; retry_batch when transient failures may succeed on a retry). \
Read-only. Use it after triage_tasks or list_tasks name a batch.

Examples:
- {"batch_id": "btch_abc123"}
- One tier, more log: {"batch_id": "btch_abc123", "tier_num": 1, "log_lines": 120}
- When the batch cannot be found by id alone: {"batch_id": "btch_abc123", "bucket_id": "bkt_products"}"""

CANCEL_TASKS_DESCRIPTION = """Stop Mixpeek work: kill tasks by id (task_ids), or cancel a batch (batch_id), \
optionally one tier only (tier_num). Destructive: canceled work does not resume. It asks for confirmation first: \
a form in clients that support it; otherwise it returns a preview and a confirmation_token, and acts only when \
called again with the same arguments plus that token (show the preview to the user and get their yes first). \
The answer says what Mixpeek reported (Ray jobs that refused to stop mean work may still run) and the \
wait_for_task call that follows.

Examples:
- {"batch_id": "btch_abc123", "reason": "wrong extractor"}
- {"batch_id": "btch_abc123", "tier_num": 2}
- {"task_ids": ["task_1", "task_2"]}"""

RETRY_BATCH_DESCRIPTION = """Retry the failed documents of a finished Mixpeek batch: retry_mode transient_only \
(the default: network, timeout, rate-limit failures) or all (also permanent and resource failures, once the data \
or extractor is fixed), optionally only some tiers (tier_nums). Run inspect_batch first to see the failure classes. \
It asks for confirmation first: a form in clients that support it; otherwise a preview and a confirmation_token \
to send back with the same arguments once the user agreed. The answer names the new run's tasks and the \
wait_for_task call to follow them.

Examples:
- {"batch_id": "btch_abc123"}
- {"batch_id": "btch_abc123", "retry_mode": "all", "tier_nums": [1]}"""
