"""When an observation ends a wait, with what outcome, and when the task really finished: the rules every
wait shares.

The poller's waits (``follow.py``) and subscriptions apply these, so "finished", "failed" and "worth polling
through" mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from ..client import MissingApiKeyError, MixpeekError, TaskNotFoundError
from ..coerce import as_time
from ..models import TaskResponse
from ..statuses import StatusClass, classify, is_final


@dataclass
class WaitOutcome:
    task: TaskResponse | None
    """None when no check of the task could be made before the wait ended (``unchecked`` says why)."""
    outcome: str
    polls: int
    waited: float
    last_error: str | None = None
    unchecked: str | None = None
    """Why the task could not be checked at all: the key's request budget, or the server shutting down."""


def outcome_of(status_class: StatusClass) -> str:
    return {
        StatusClass.SUCCESS: "success",
        StatusClass.PARTIAL: "partial",
        StatusClass.FAILURE: "failure",
        StatusClass.STALLED: "stalled",
    }.get(status_class, "timed_out")


def settled(task: TaskResponse, stop_statuses: Collection[str]) -> str | None:
    """The outcome that ends a wait on this observation of the task (a final status, or one waited for)."""
    status_class = classify(task.status)
    if is_final(status_class):
        return outcome_of(status_class)
    return "reached" if task.status in stop_statuses else None


def is_transient(error: MixpeekError) -> bool:
    """Upstream trouble worth polling through (rate limits, 5xx, network), not a bad key or missing task."""
    if isinstance(error, TaskNotFoundError | MissingApiKeyError):
        return False
    return error.status is None or error.status == 429 or error.status >= 500


BUDGET_ERROR_TYPE = "request_budget"
"""The error_type of the client's 'not sent: the key's budget has no room before the deadline'."""


def is_budget_refusal(error: MixpeekError | None) -> bool:
    """A check that was never sent because the key's budget had no room for it: not Mixpeek's answer."""
    return error is not None and error.error_type == BUDGET_ERROR_TYPE


FINISHED_CLASSES = frozenset({StatusClass.SUCCESS, StatusClass.PARTIAL, StatusClass.FAILURE})
"""Stalled tasks (DRAFT, SKIPPED, entity statuses) end a wait, but they have not finished: no finish time."""
FINISH_TIME_KEYS = ("finished_at", "completed_at", "ended_at")
"""Where an API may say when a task finished; without them, ``updated_at`` of a finished task (its last
change is the one that finished it)."""


def finish_time(task: TaskResponse) -> datetime | None:
    """When the task finished, from the API's own timestamps; None while it runs or when the API gives none.

    "Seen finished after 0.1 s" says when a wait looked, not when the task finished: this is the other half."""
    if classify(task.status) not in FINISHED_CLASSES:
        return None
    extra = task.model_extra or {}
    data = task.additional_data or {}
    for key in FINISH_TIME_KEYS:
        moment = as_time(extra.get(key)) or as_time(data.get(key))
        if moment is not None:
            return moment
    return as_time(extra.get("updated_at"))


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC to the second (``2026-12-02T06:10:00Z``), as finished_at is given."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
