"""Run one triage: scan, group, judge stalls, and write the bounded answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..arguments import MAX_TRIAGE_TASKS, TriageTasksArguments
from ..client import Credentials, TasksClient
from ..clock import Clock
from ..enums import TaskStatus
from ..models import TaskSelection
from ..output import TriageResult
from ..statuses import ACTIVE, FAILURE, PARTIAL
from ..waits.poller import credentials_identity
from .groups import build_groups, canceled_call, top
from .report import coverage_text, render
from .scan import OnPage, scan
from .stuck import ProgressMemory, find_stuck

MAX_TYPE_COUNTS = 12
MAX_STRUCTURED_CHARS = 24_000
"""The structured result as JSON, whatever the data: the smallest groups move to the tail count until it fits."""
DEFAULT_STATUSES = [status.value for status in TaskStatus if status in FAILURE or status in PARTIAL or status in ACTIVE]
"""With no selection: the problem statuses plus the active ones (for stalls)."""


def effective_selection(arguments: TriageTasksArguments) -> TaskSelection:
    selection = arguments.selection()
    if selection.is_empty():
        return TaskSelection.model_validate(
            {"filters": {"AND": [{"field": "status", "operator": "in", "value": DEFAULT_STATUSES}]}}
        )
    return selection


def describe_selection(selection: dict[str, Any], defaulted: bool) -> str:
    if defaulted:
        return "the problem and active tasks (status in " + ", ".join(DEFAULT_STATUSES) + ")"
    return "tasks matching " + json.dumps(selection, ensure_ascii=False)[:600]


async def run_triage(
    arguments: TriageTasksArguments,
    *,
    client: TasksClient,
    credentials: Credentials,
    clock: Clock,
    memory: ProgressMemory,
    max_timeout: float,
    on_page: OnPage | None = None,
) -> tuple[str, TriageResult]:
    """Scan, group and judge; raises MixpeekError only when not even the first page could be read."""
    selection = effective_selection(arguments)
    outcome = await scan(
        client,
        credentials,
        selection,
        max_tasks=arguments.max_tasks,
        budget=arguments.timeout_seconds,
        clock=clock,
        on_page=on_page,
    )
    tally = outcome.tally
    defaulted = arguments.selection().is_empty()
    groups, more_groups, more_tasks = build_groups(tally.groups, selection, defaulted=defaulted)
    identity = credentials_identity(credentials)
    if memory.shared is not None:
        await memory.shared.load_into(memory, identity, tally.active, clock.now())
    stuck, stuck_count, stuck_note = find_stuck(
        tally.active, wall_now=datetime.now(UTC), now=clock.now(), memory=memory
    )
    if memory.shared is not None:
        await memory.shared.save_from(memory, identity, tally.active, clock.now())
    selection_json = selection.model_dump(mode="json", exclude_none=True)
    next_call: dict[str, Any] | None = None
    if outcome.stopped_because in ("max_tasks", "time_budget", "request_budget"):
        next_call = arguments.selection().model_dump(mode="json", exclude_none=True)
        if outcome.stopped_because == "max_tasks" and arguments.max_tasks < MAX_TRIAGE_TASKS:
            next_call["max_tasks"] = min(MAX_TRIAGE_TASKS, arguments.max_tasks * 5)
        elif outcome.stopped_because != "max_tasks" and arguments.timeout_seconds < max_timeout:
            next_call["timeout_seconds"] = min(max_timeout, arguments.timeout_seconds * 2)
            next_call["max_tasks"] = arguments.max_tasks
        else:
            next_call = None  # already at the limits: only a narrower selection helps, which the text says
    result = TriageResult(
        scanned=tally.scanned,
        total=outcome.total,
        stopped_because=outcome.stopped_because,
        coverage=coverage_text(
            tally.scanned, outcome.total, outcome.stopped_because, outcome.pages, arguments.max_tasks, outcome.budget
        ),
        selection=selection_json,
        upstream_error=outcome.error,
        status_counts=dict(tally.statuses.most_common()),
        task_type_counts=top(tally.task_types, MAX_TYPE_COUNTS),
        with_error=tally.with_error,
        canceled_without_error=tally.canceled_quietly.count if tally.canceled_quietly else 0,
        canceled_list_call=(
            canceled_call(tally.canceled_quietly, selection, defaulted=defaulted) if tally.canceled_quietly else None
        ),
        groups=groups,
        more_groups=more_groups,
        more_groups_tasks=more_tasks,
        active=len(tally.active),
        stuck_count=stuck_count,
        stuck=stuck,
        stuck_note=stuck_note,
        next_call=next_call,
    )
    fit_structured(result)
    only_batch = arguments.batch_id if arguments.selection() == TaskSelection(batch_id=arguments.batch_id) else None
    text = render(result, describe_selection(selection_json, defaulted), only_batch=only_batch)
    return text, result


def fit_structured(result: TriageResult) -> None:
    """Keep the structured result under MAX_STRUCTURED_CHARS: drop stalled rows past the worst few, then the
    smallest shown groups into ``more_groups`` (counted, never dropped silently)."""

    def size() -> int:
        return len(result.model_dump_json(exclude_none=True))

    while size() > MAX_STRUCTURED_CHARS and (result.groups or result.stuck):
        if len(result.stuck) > 3 or not result.groups:
            result.stuck.pop()
            continue
        group = result.groups.pop()
        result.more_groups += 1
        result.more_groups_tasks += group.count
