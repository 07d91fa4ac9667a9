"""The tools' argument models: the API request models plus paging and waiting controls.

These are what the advertised input schemas are generated from (``schema.py``) and what validated
arguments end up as (``validation.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from .enums import SortDirection, TaskStatus
from .models import ListTasksRequest, SortOption, TaskSelection

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 10_000
MAX_WAIT_TASK_IDS = 50
Until = Literal["all", "any", "none_active"]


class ListTasksArguments(TaskSelection):
    """Arguments of ``list_tasks``: the selection (the request body's keys plus ``batch_id``), sort, pagination."""

    model_config = ConfigDict(extra="forbid")

    sort: SortOption | None = Field(default=None, description="Sort key.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Tasks per page (1-100).")
    offset: int | None = Field(
        default=None, ge=0, le=MAX_OFFSET, description="Tasks to skip (0-10000). Use cursor to go deeper."
    )
    cursor: str | None = Field(
        default=None,
        min_length=1,
        description="The next_cursor of the previous page; continues exactly where it ended.",
    )

    @model_validator(mode="after")
    def _one_paging_mode(self) -> ListTasksArguments:
        if self.offset is not None and self.cursor is not None:
            raise ValueError("give offset or cursor, not both")
        return self

    def api_request(self) -> ListTasksRequest:
        """The API body part of the arguments, newest first unless a sort was given."""
        body = ListTasksRequest.model_validate(
            {**self.api_keys(), **self.model_dump(include={"sort"}, exclude_none=True, by_alias=True)}
        )
        if body.sort is None:
            body.sort = SortOption(field="created_at", direction=SortDirection.DESC)
        return body


class WaitForTaskArguments(TaskSelection):
    """Arguments of ``wait_for_task``: one task, many tasks, or a selection (the list_tasks keys)."""

    model_config = ConfigDict(extra="forbid")

    task_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="The task to wait on (from list_tasks)."
    )
    task_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_WAIT_TASK_IDS,
        description=f"Instead of task_id: up to {MAX_WAIT_TASK_IDS} tasks to wait on in one call.",
    )
    until: Until | None = Field(
        default=None,
        description="With task_ids: all (default; every task finished) or any (the first task to finish, "
        "whatever its outcome; the answer gives the call for the rest). With batch_id/status/task_type/filters/"
        "search: none_active (no matching task is PENDING, QUEUED, IN_PROGRESS or PROCESSING).",
    )
    timeout_seconds: float = Field(
        default=45,
        ge=0,
        description="How long this call may wait, in seconds. 0 = check once. The default 45 ends the call "
        "before the ~60 s tool-call timeout of many clients; call again to keep waiting.",
    )
    wait_for: list[TaskStatus] | None = Field(
        default=None,
        min_length=1,
        description="Also stop as soon as the task reaches one of these statuses (e.g. IN_PROGRESS to wait "
        "for it to start). Finished tasks always stop the wait.",
    )


DEFAULT_TRIAGE_TASKS = 2_000
MAX_TRIAGE_TASKS = 10_000
DEFAULT_TRIAGE_SECONDS = 30.0


class TriageTasksArguments(TaskSelection):
    """Arguments of ``triage_tasks``: which tasks (as list_tasks selects them) and how far to scan."""

    model_config = ConfigDict(extra="forbid")

    max_tasks: int = Field(
        default=DEFAULT_TRIAGE_TASKS,
        ge=1,
        le=MAX_TRIAGE_TASKS,
        description="Most tasks to scan, newest first (1-10000).",
    )
    timeout_seconds: float = Field(
        default=DEFAULT_TRIAGE_SECONDS,
        gt=0,
        description="Time budget of the scan in seconds; the default 30 ends the call before the ~60 s tool-call "
        "timeout of many clients. The answer says what was covered.",
    )
