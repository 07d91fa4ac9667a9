"""What agents may write and the near misses they do write: fields, aliases, hints."""

from __future__ import annotations

import re

FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
MAX_FIELD_PATH = 200
TASK_FIELDS = (
    "task_id",
    "task_type",
    "status",
    "description",
    "created_at",
    "updated_at",
    "inputs",
    "outputs",
    "error",
    "additional_data",
    "queue_position",
    "estimated_wait_minutes",
)
ADDITIONAL_DATA_KEYS = (
    "batch_id",
    "bucket_id",
    "namespace_id",
    "collection_ids",
    "object_count",
    "current_tier",
    "total_tiers",
    "job_id",
    "cluster_id",
    "object_id",
    "sample_object_ids",
    "error",
)
OPERATOR_ALIASES = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
}
OPERATOR_HINTS = {
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "not_equal": "ne",
    "not_equals": "ne",
    "neq": "ne",
    "greater_than": "gt",
    "greater": "gt",
    "greater_than_or_equal": "gte",
    "greater_or_equal": "gte",
    "ge": "gte",
    "less_than": "lt",
    "less": "lt",
    "less_than_or_equal": "lte",
    "less_or_equal": "lte",
    "le": "lte",
    "not_in": "nin",
    "notin": "nin",
    "one_of": "in",
    "startswith": "starts_with",
    "prefix": "starts_with",
    "endswith": "ends_with",
    "suffix": "ends_with",
    "like": "contains",
    "includes": "contains",
    "has": "contains",
    "match": "regex",
    "matches": "regex",
    "null": "is_null",
    "isnull": "is_null",
    "exist": "exists",
}
STATUS_ALIASES = {"CANCELLED": "CANCELED", "INPROGRESS": "IN_PROGRESS"}
"""Spellings of exactly one status. A word that could mean several statuses is never mapped to one of them:
the tasks in the others would silently go missing (see AMBIGUOUS_STATUSES)."""
AMBIGUOUS_STATUSES = {
    "RUNNING": ("IN_PROGRESS", "PROCESSING"),
    "DONE": ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"),
    "FINISHED": ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"),
    "ERROR": ("FAILED", "COMPLETED_WITH_ERRORS"),
    "ERRORED": ("FAILED", "COMPLETED_WITH_ERRORS"),
    "STARTED": ("IN_PROGRESS", "PROCESSING"),
    "WAITING": ("PENDING", "QUEUED"),
}
"""Words agents use for a class of statuses: refused, naming every status they could mean."""
ARGUMENT_HINTS = {
    "page_size": "limit",
    "per_page": "limit",
    "size": "limit",
    "count": "limit",
    "max_results": "limit",
    "page": "offset (offset = (page - 1) * limit) or cursor",
    "skip": "offset",
    "next_cursor": "cursor",
    "after": "cursor",
    "statuses": "status (one value) or filters with operator in",
    "state": "status",
    "type": "task_type",
    "types": "task_type (one value) or filters with operator in",
    "filter": "filters",
    "where": "filters",
    "query": "search",
    "q": "search",
    "text": "search",
    "order_by": "sort",
    "sort_by": "sort",
    "order": "sort",
    "include_total": "nothing: the total is always requested",
    "timeout": "timeout_seconds",
    "timeout_s": "timeout_seconds",
    "wait_seconds": "timeout_seconds",
    "id": "task_id",
    "taskid": "task_id",
    "until": "wait_for",
    "statuses_to_wait_for": "wait_for",
}
