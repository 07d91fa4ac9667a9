"""Structured results of the tools: minimal rows an agent can act on, and the paging it needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .enums import TaskStatus, TaskType

# Every object in a schema lists properties (Gemini's OpenAPI subset rejects property-less objects); the
# maps below name the keys they usually hold, and may hold others (no additionalProperties is advertised).
_COUNT_KEYS: JsonDict = {"properties": {status.value: {"type": "integer"} for status in TaskStatus}}
_LIST_NEXT_CALL_KEYS: JsonDict = {
    "properties": {"limit": {"type": "integer"}, "offset": {"type": "integer"}, "cursor": {"type": "string"}}
}
_OUTCOME_COUNT_KEYS: JsonDict = {
    "properties": {
        outcome: {"type": "integer"}
        for outcome in ("success", "partial", "failure", "stalled", "reached", "not_found", "running")
    }
}
_TYPE_COUNT_KEYS: JsonDict = {"properties": {task_type.value: {"type": "integer"} for task_type in TaskType}}
_FILTER_SCALARS: list[Any] = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
_FILTER_VALUE_TYPES: list[Any] = [*_FILTER_SCALARS, {"type": "array", "items": {"anyOf": _FILTER_SCALARS}}]
"""What a condition's value can be, as the input schema says: a typeless node is refused by strict-tool
helpers such as Anthropic's ``transform_schema``."""


def filter_conditions(value: JsonDict) -> JsonDict:
    """A ``filters`` list (AND, OR, NOT) as an output schema shows it: conditions of field, operator and a
    ``value`` described by the caller (the batch tools' next calls hold only string values)."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"field": {"type": "string"}, "operator": {"type": "string"}, "value": value},
        },
    }


_FILTERS_KEYS: JsonDict = {
    key: filter_conditions({"description": "The literal compared with.", "anyOf": _FILTER_VALUE_TYPES})
    for key in ("AND", "OR", "NOT")
}
_SELECTION_KEYS: dict[str, Any] = {
    "status": {"type": "string"},
    "task_type": {"type": "string"},
    "filters": {"type": "object", "properties": _FILTERS_KEYS},
    "search": {"type": "string"},
    "batch_id": {"type": "string"},
}
_SELECTION: JsonDict = {"properties": _SELECTION_KEYS}
_WAIT_NEXT_CALL_KEYS: JsonDict = {
    "properties": {
        "task_id": {"type": "string"},
        "task_ids": {"type": "array", "items": {"type": "string"}},
        **_SELECTION_KEYS,
        "until": {"type": "string"},
        "timeout_seconds": {"type": "number"},
        "wait_for": {"type": "array", "items": {"type": "string"}},
    }
}
_TRIAGE_LIST_CALL_KEYS: JsonDict = {"properties": {**_SELECTION_KEYS, "limit": {"type": "integer"}}}
_TRIAGE_NEXT_CALL_KEYS: JsonDict = {
    "properties": {**_SELECTION_KEYS, "max_tasks": {"type": "integer"}, "timeout_seconds": {"type": "number"}}
}


class _Compact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRow(_Compact):
    """One task, reduced to what decides the next step."""

    task_id: str
    task_type: str
    status: str
    status_class: str = Field(description="success, partial, failure, active, stalled or undetermined.")
    tier: str | None = Field(default=None, description="Tier progress as current/total, e.g. 2/3.")
    object_count: int | None = None
    batch_id: str | None = None
    bucket_id: str | None = None
    namespace_id: str | None = None
    cluster_id: str | None = None
    job_id: str | None = None
    queue_position: int | None = None
    estimated_wait_minutes: float | None = None
    created_at: str | None = None
    error: str | None = Field(default=None, description="Failure text from the API (data, truncated).")


class Pagination(_Compact):
    returned: int
    limit: int
    offset: int | None = None
    total: int | None = Field(default=None, description="Tasks matching across all pages, when known.")
    has_more: bool
    next_offset: int | None = None
    next_cursor: str | None = None
    left_out: int | None = Field(
        default=None,
        description="Tasks of this page left out to keep the answer within its size bound; next_call continues "
        "from the first of them.",
    )


class ListTasksResult(_Compact):
    tasks: list[TaskRow]
    pagination: Pagination
    status_counts: dict[str, int] = Field(description="Tasks per status on this page.", json_schema_extra=_COUNT_KEYS)
    next_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for list_tasks that fetch the next page (the same filters, with offset or cursor); "
        "absent on the last page.",
        json_schema_extra=_LIST_NEXT_CALL_KEYS,
    )


_FINISHED_AT = (
    "When the task finished, from the API's timestamps (ISO-8601 UTC); null while it runs or when the API gives none."
)
_SEEN_AFTER = "When this call saw it finished, in seconds from the start of the call (not when it finished)."


class WaitLine(_Compact):
    """One task of a many-task wait."""

    task_id: str
    outcome: str = Field(description="success, partial, failure, stalled, reached, not_found or running.")
    task: TaskRow | None = Field(default=None, description="Its last known state (absent if never seen).")
    finished_at: str | None = Field(default=None, description=_FINISHED_AT)
    seen_after_seconds: float | None = Field(default=None, description=_SEEN_AFTER)
    error: str | None = Field(default=None, description="Why it could not be checked (e.g. not found).")


class TierProgress(_Compact):
    task_id: str
    tier: str = Field(description="current/total, e.g. 2/3.")


class SelectionSummary(_Compact):
    """Selection waits (a batch): every task known to match, finished or not."""

    read: int | None = Field(
        default=None, description="Tasks these figures cover when fewer than `matched` (the newest and the active)."
    )
    finished: int = Field(description="Tasks finished (any outcome), of `matched`.")
    counts: dict[str, int] = Field(description="Tasks per outcome.", json_schema_extra=_OUTCOME_COUNT_KEYS)
    objects: int | None = Field(default=None, description="Summed object_count of the tasks that give one.")
    failed_documents: int | None = Field(
        default=None, description="Documents that failed, summed over the tasks where the API reports them."
    )
    first_created_at: str | None = Field(default=None, description="ISO-8601 UTC: the first task's creation.")
    last_finished_at: str | None = Field(default=None, description="ISO-8601 UTC: the last finish seen.")
    tiers: list[TierProgress] | None = Field(
        default=None, description="The running tasks that carry tiers, with their tier progress."
    )


class WaitResult(_Compact):
    task: TaskRow | None = Field(default=None, description="The task (one-task waits).")
    finished_at: str | None = Field(default=None, description="One task: w" + _FINISHED_AT[1:])
    seen_after_seconds: float | None = Field(default=None, description="One task: w" + _SEEN_AFTER[1:])
    outcome: str = Field(
        description="One task: success, partial, failure, stalled (will not progress by itself), reached (a "
        "wait_for status), or timed_out (still running when the budget ran out). Many tasks: all_finished, "
        "any_finished, none_active or timed_out."
    )
    finished: bool = Field(description="Whether the task is final (many tasks: whether `until` was met).")
    until: str | None = Field(default=None, description="Many tasks: all, any or none_active.")
    tasks: list[WaitLine] | None = Field(default=None, description="Many tasks: one line per task followed.")
    tasks_left_out: int | None = Field(
        default=None,
        description="Many tasks: lines left out of `tasks` to keep the answer within its size bound (`counts` "
        "and `still_running` cover every task).",
    )
    counts: dict[str, int] | None = Field(
        default=None, description="Many tasks: tasks per outcome.", json_schema_extra=_OUTCOME_COUNT_KEYS
    )
    still_running: list[str] | None = Field(default=None, description="Many tasks: ids not finished yet.")
    not_followed: int | None = Field(
        default=None, description="Selection waits: matching active tasks beyond the cap, not followed."
    )
    matched: int | None = Field(
        default=None, description="Selection waits: tasks matching the selection (0: none does; check the id)."
    )
    summary: SelectionSummary | None = Field(
        default=None, description="Selection waits: the outcome (or progress) of every matching task."
    )
    waited_seconds: float
    polls: int
    next_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for wait_for_task to keep waiting: when timed out, and after until any while "
        "tasks are still running.",
        json_schema_extra=_WAIT_NEXT_CALL_KEYS,
    )
    last_error: str | None = Field(default=None, description="Why the last poll failed, if it did.")


class Share(_Compact):
    """Where a group's tasks are: one bucket or batch and how many of the group's tasks it holds."""

    id: str
    tasks: int


class ErrorGroup(_Compact):
    """Tasks that failed for one cause: the same error text once ids, numbers, sizes and names are masked."""

    signature: str = Field(description="The error with its varying parts masked (<id>, <n>, <size>, <url>, ...).")
    count: int
    share: float = Field(description="Fraction of the scanned tasks with an error that are in this group.")
    statuses: dict[str, int] = Field(json_schema_extra=_COUNT_KEYS)
    task_types: dict[str, int] = Field(
        description="The task types it hit, most first (at most 3).", json_schema_extra=_TYPE_COUNT_KEYS
    )
    buckets: list[Share] | None = Field(default=None, description="Top buckets affected (at most 3).")
    batches: list[Share] | None = Field(default=None, description="Top batches affected (at most 3).")
    first_seen: str | None = Field(default=None, description="Oldest created_at in the group, when the API gives it.")
    last_seen: str | None = Field(default=None, description="Newest created_at in the group, when the API gives it.")
    example_task_ids: list[str]
    sample_error: str = Field(description="One task's error text from the API (data, truncated).")
    list_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for list_tasks that list this group's tasks.",
        json_schema_extra=_TRIAGE_LIST_CALL_KEYS,
    )
    inspect_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for inspect_batch on the group's largest batch: its tiers, logs, failed documents.",
        json_schema_extra={"properties": {"batch_id": {"type": "string"}}},
    )
    failed_documents: int | None = Field(
        default=None,
        description="Documents failed in the group's tasks that report it (partial failures); absent if none do.",
    )
    documents_of: int | None = Field(
        default=None, description="Documents those tasks processed in all, when the API gives it."
    )
    documents_reported_by: int | None = Field(
        default=None, description="How many of the group's tasks report their failed documents."
    )


class StuckTask(_Compact):
    task_id: str
    task_type: str
    status: str
    reason: str = Field(description="Why it looks stuck, from what the API returned.")
    tier: str | None = None
    queue_position: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class TriageResult(_Compact):
    scanned: int = Field(description="Tasks read.")
    total: int | None = Field(default=None, description="Tasks matching the selection, when the API says.")
    stopped_because: str = Field(
        description="all (every matching task was read), max_tasks, time_budget, request_budget (the API key's "
        "request budget had no room left in the time budget), or upstream_error."
    )
    coverage: str = Field(description="How much was scanned, in words: never mistake a partial scan for the whole.")
    selection: dict[str, Any] = Field(
        description="The list_tasks selection that was scanned, newest first.", json_schema_extra=_SELECTION
    )
    upstream_error: str | None = Field(default=None, description="The error that stopped the scan, if one did.")
    status_counts: dict[str, int] = Field(description="Scanned tasks per status.", json_schema_extra=_COUNT_KEYS)
    task_type_counts: dict[str, int] = Field(
        description="Scanned tasks per type (the most common ones).", json_schema_extra=_TYPE_COUNT_KEYS
    )
    with_error: int = Field(description="Scanned tasks that carry an error text or have a failure status.")
    groups: list[ErrorGroup] = Field(description="Largest first.")
    more_groups: int = Field(default=0, description="Groups left out of `groups` (the long tail).")
    more_groups_tasks: int = Field(default=0, description="Tasks in the groups left out.")
    canceled_without_error: int = Field(
        default=0,
        description="CANCELED tasks with no error text: counted apart, not a failure cause (nor in with_error).",
    )
    canceled_list_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for list_tasks that list those canceled tasks.",
        json_schema_extra=_TRIAGE_LIST_CALL_KEYS,
    )
    active: int = Field(description="Scanned tasks that are PENDING, QUEUED, IN_PROGRESS or PROCESSING.")
    stuck_count: int = Field(default=0, description="Active tasks that look stuck (`stuck` lists the worst).")
    stuck: list[StuckTask]
    stuck_note: str | None = Field(default=None, description="What could not be told about stuck tasks, and why.")
    next_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for triage_tasks that scan further, when the scan stopped early.",
        json_schema_extra=_TRIAGE_NEXT_CALL_KEYS,
    )
