"""Selection waits (a batch, or any list_tasks selection): what matches, what is still active, and the outcome.

"Tell me when batch btch_x is done" has three honest answers, and a wait must tell them apart: no task matches
(a typo: say so), every task has finished (answer at once, with the outcome), or some are running (follow them,
and say how far the batch has got). A ``Survey`` is one look at the selection, with every status, so one
request gives both the tasks to follow and the figures of the outcome; ``summarize`` turns what a wait knows
into those figures.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..client import Credentials, TasksClient
from ..coerce import as_int, as_time
from ..enums import SortDirection
from ..models import ListTasksRequest, SortOption, TaskResponse, TaskSelection
from ..output import SelectionSummary, TierProgress
from ..statuses import ACTIVE, StatusClass, classify
from .rules import finish_time, iso, outcome_of

SURVEY_LIMIT = 100
"""Tasks one survey reads (the API's largest page): a batch's tasks in one request."""
MAX_FOLLOWED = 50
"""Most active tasks a selection wait follows at once; beyond it, the answer says how many were left out."""
ACTIVE_STATUSES = sorted(status.value for status in ACTIVE)
FAILED_DOCUMENT_KEYS = ("failed_document_count", "failed_documents", "documents_failed", "failed_count")
FAILED_OF_TEXT = re.compile(r"\b(\d{1,9}) of \d{1,9} (?:objects|documents|items) failed\b")


@dataclass(frozen=True)
class Survey:
    """One look at a selection: its newest tasks (every status), how many match in all, and the active ones."""

    tasks: list[TaskResponse]
    total: int
    active: list[str]
    """Active tasks to follow, oldest first, at most ``MAX_FOLLOWED``."""
    active_total: int


Surveyor = Callable[[float], Awaitable[Survey]]
"""Surveys the selection, given the call's deadline."""


def surveyor(client: TasksClient, credentials: Credentials, selection: TaskSelection) -> Surveyor:
    """One request for the selection's newest ``SURVEY_LIMIT`` tasks; a second one, for its oldest active tasks,
    only when more tasks match than that page holds."""
    keys = selection.api_keys()
    newest = ListTasksRequest.model_validate(
        {**keys, "sort": SortOption(field="created_at", direction=SortDirection.DESC)}
    )
    active_condition = {"field": "status", "operator": "in", "value": ACTIVE_STATUSES}
    tree = keys.get("filters") or {}
    oldest_active = ListTasksRequest.model_validate(
        {
            **keys,
            "filters": {**tree, "AND": [active_condition, *(tree.get("AND") or [])]},
            "sort": SortOption(field="created_at", direction=SortDirection.ASC),
        }
    )

    async def survey(deadline: float) -> Survey:
        page = await client.list_tasks(newest, credentials=credentials, limit=SURVEY_LIMIT, offset=0)
        tasks = page.results[:SURVEY_LIMIT]
        total = max(page.pagination.total or 0, len(tasks))
        if total <= len(tasks):
            active = [task.task_id for task in reversed(tasks) if classify(task.status) is StatusClass.ACTIVE]
            return Survey(tasks, total, active[:MAX_FOLLOWED], len(active))
        more = await client.list_tasks(oldest_active, credentials=credentials, limit=MAX_FOLLOWED, offset=0)
        active = [task.task_id for task in more.results[:MAX_FOLLOWED]]
        return Survey(tasks, total, active, max(more.pagination.total or 0, len(active)))

    return survey


def outcome_word(task: TaskResponse) -> str:
    """The task's outcome as a wait counts it: success, partial, failure, stalled, or running."""
    status_class = classify(task.status)
    word = outcome_of(status_class)
    return "running" if word == "timed_out" else word


def failed_documents(task: TaskResponse) -> int | None:
    """Documents (objects) that failed in this task, where the API reports them: a count in additional_data,
    else the "N of M documents failed" its error text gives."""
    data = task.additional_data or {}
    for key in FAILED_DOCUMENT_KEYS:
        value = data.get(key)
        count = len(value) if isinstance(value, list) else as_int(value)
        if count is not None and count >= 0:
            return count
    error = task.error_text()
    match = FAILED_OF_TEXT.search(error) if error else None
    return int(match.group(1)) if match else None


def _tier(task: TaskResponse) -> str | None:
    data = task.additional_data or {}
    total, current = as_int(data.get("total_tiers")), as_int(data.get("current_tier"))
    if total is None:
        return None
    return f"{(current + 1) if current is not None else 0}/{total}"


def summarize(known: Iterable[TaskResponse], matched: int) -> SelectionSummary:
    """The figures of a selection from the tasks a wait knows (their latest state): counts per outcome, objects,
    failed documents, first created and last finished, and the tiers of the running ones."""
    tasks = list(known)
    counts = Counter(outcome_word(task) for task in tasks)
    objects = [count for task in tasks if (count := as_int((task.additional_data or {}).get("object_count")))]
    failed = [count for task in tasks if (count := failed_documents(task)) is not None]
    created = [moment for task in tasks if (moment := as_time((task.model_extra or {}).get("created_at")))]
    finished = [moment for task in tasks if (moment := finish_time(task)) is not None]
    running = [task for task in tasks if outcome_word(task) == "running"]
    tiers = [TierProgress(task_id=task.task_id[:200], tier=tier) for task in running if (tier := _tier(task))]
    return SelectionSummary(
        read=len(tasks) if len(tasks) < matched else None,
        finished=sum(count for word, count in counts.items() if word != "running"),
        counts=dict(counts.most_common()),
        objects=sum(objects) if objects else None,
        failed_documents=sum(failed) if failed else None,
        first_created_at=iso(min(created)) if created else None,
        last_finished_at=iso(max(finished)) if finished else None,
        tiers=tiers[:MAX_FOLLOWED] or None,
    )


def selection_name(selection: TaskSelection) -> str:
    """'batch btch_x' for a batch alone, else the selection as its JSON."""
    if selection.batch_id and selection == TaskSelection(batch_id=selection.batch_id):
        return f"batch {selection.batch_id}"
    dumped: dict[str, Any] = selection.model_dump(mode="json", exclude_none=True)
    return "tasks matching " + json.dumps(dumped, ensure_ascii=False)[:600]
