"""Structured results of the tools: minimal rows an agent can act on, and the paging it needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .enums import TaskStatus

# Every object in a schema lists properties (Gemini's OpenAPI subset rejects property-less objects); the
# maps below name the keys they usually hold, and may hold others (no additionalProperties is advertised).
_COUNT_KEYS: JsonDict = {"properties": {status.value: {"type": "integer"} for status in TaskStatus}}
_LIST_NEXT_CALL_KEYS: JsonDict = {
    "properties": {"limit": {"type": "integer"}, "offset": {"type": "integer"}, "cursor": {"type": "string"}}
}
_WAIT_NEXT_CALL_KEYS: JsonDict = {
    "properties": {
        "task_id": {"type": "string"},
        "timeout_seconds": {"type": "number"},
        "wait_for": {"type": "array", "items": {"type": "string"}},
    }
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


class WaitResult(_Compact):
    task: TaskRow
    outcome: str = Field(
        description="success, partial, failure, stalled (will not progress by itself), reached (a wait_for "
        "status), or timed_out (still running when the budget ran out)."
    )
    finished: bool = Field(description="Whether the task is in a final state.")
    waited_seconds: float
    polls: int
    next_call: dict[str, Any] | None = Field(
        default=None,
        description="Arguments for wait_for_task to keep waiting; only when timed out.",
        json_schema_extra=_WAIT_NEXT_CALL_KEYS,
    )
    last_error: str | None = Field(default=None, description="Why the last poll failed, if it did.")
