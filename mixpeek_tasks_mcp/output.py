"""Structured results of the tools: minimal rows an agent can act on, and the paging it needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    status_counts: dict[str, int] = Field(description="Tasks per status on this page.")
    next_call: dict[str, Any] | None = Field(
        default=None, description="Arguments for list_tasks that fetch the next page; absent on the last page."
    )


class WaitLine(_Compact):
    """One task of a many-task wait."""

    task_id: str
    outcome: str = Field(description="success, partial, failure, stalled, reached, not_found or running.")
    task: TaskRow | None = Field(default=None, description="Its last known state (absent if never seen).")
    finished_after_seconds: float | None = Field(
        default=None, description="When this wait saw it finish, in seconds from the start of the call."
    )
    error: str | None = Field(default=None, description="Why it could not be checked (e.g. not found).")


class WaitResult(_Compact):
    task: TaskRow | None = Field(default=None, description="The task (one-task waits).")
    outcome: str = Field(
        description="One task: success, partial, failure, stalled (will not progress by itself), reached (a "
        "wait_for status), or timed_out (still running when the budget ran out). Many tasks: all_finished, "
        "any_finished, none_active or timed_out."
    )
    finished: bool = Field(description="Whether the task is final (many tasks: whether `until` was met).")
    until: str | None = Field(default=None, description="Many tasks: all, any or none_active.")
    tasks: list[WaitLine] | None = Field(default=None, description="Many tasks: one line per task followed.")
    counts: dict[str, int] | None = Field(default=None, description="Many tasks: tasks per outcome.")
    still_running: list[str] | None = Field(default=None, description="Many tasks: ids not finished yet.")
    not_followed: int | None = Field(
        default=None, description="Selection waits: matching active tasks beyond the cap, not followed."
    )
    waited_seconds: float
    polls: int
    next_call: dict[str, Any] | None = Field(
        default=None, description="Arguments for wait_for_task to keep waiting; only when timed out."
    )
    last_error: str | None = Field(default=None, description="Why the last poll failed, if it did.")
