"""How each task status is treated when waiting: the documented status classes."""

from __future__ import annotations

from enum import Enum

from .enums import TaskStatus


class StatusClass(str, Enum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILURE = "failure"
    ACTIVE = "active"
    STALLED = "stalled"
    UNDETERMINED = "undetermined"


# Terminal per Mixpeek (COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELED) plus INTERRUPTED, which ends a
# run (an interrupted batch is resubmitted as a new task, so the old one never moves again).
SUCCESS = frozenset({TaskStatus.COMPLETED})
PARTIAL = frozenset({TaskStatus.COMPLETED_WITH_ERRORS})
FAILURE = frozenset({TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.INTERRUPTED})
ACTIVE = frozenset({TaskStatus.PENDING, TaskStatus.QUEUED, TaskStatus.IN_PROGRESS, TaskStatus.PROCESSING})
# Statuses that never progress by themselves: DRAFT needs a submit, SKIPPED was not executed, and the
# lifecycle statuses (ACTIVE, ARCHIVED, SUSPENDED, DEACTIVATED) describe entities, not running work.
STALLED = frozenset(
    {
        TaskStatus.DRAFT,
        TaskStatus.SKIPPED,
        TaskStatus.ACTIVE,
        TaskStatus.ARCHIVED,
        TaskStatus.SUSPENDED,
        TaskStatus.DEACTIVATED,
    }
)

STATUS_RULES_TEXT = (
    "success: COMPLETED. partial: COMPLETED_WITH_ERRORS (terminal; some items failed). "
    "failure: FAILED, CANCELED, INTERRUPTED (terminal). active: PENDING, QUEUED, IN_PROGRESS, PROCESSING "
    "(keep waiting). stalled: DRAFT (never progresses until submitted), SKIPPED and the entity lifecycle "
    "statuses ACTIVE, ARCHIVED, SUSPENDED, DEACTIVATED (returned at once). UNKNOWN or a status this server "
    "does not know: keeps polling until the time budget."
)


def classify(status: str) -> StatusClass:
    """Return the class of a status string as it came from the API (unknown strings are undetermined)."""
    try:
        value = TaskStatus(status)
    except ValueError:
        return StatusClass.UNDETERMINED
    if value in SUCCESS:
        return StatusClass.SUCCESS
    if value in PARTIAL:
        return StatusClass.PARTIAL
    if value in FAILURE:
        return StatusClass.FAILURE
    if value in ACTIVE:
        return StatusClass.ACTIVE
    if value in STALLED:
        return StatusClass.STALLED
    return StatusClass.UNDETERMINED


def is_final(status_class: StatusClass) -> bool:
    """Whether waiting should stop on this class (everything but active and undetermined)."""
    return status_class not in (StatusClass.ACTIVE, StatusClass.UNDETERMINED)
