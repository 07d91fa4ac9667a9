"""When an observation ends a wait, and with what outcome: the rules every wait shares.

The poller's waits (``follow.py``) and subscriptions apply these, so "finished", "failed" and "worth polling
through" mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..client import MissingApiKeyError, MixpeekError, TaskNotFoundError
from ..models import TaskResponse
from ..statuses import StatusClass, classify, is_final


@dataclass
class WaitOutcome:
    task: TaskResponse
    outcome: str
    polls: int
    waited: float
    last_error: str | None = None
    next_attempt: int = 0
    """Where the backoff had got to: a follow-up wait on the same task can resume from here."""


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
