"""The wait_for_task answer: one task or many, with progress notifications and the call that keeps waiting.

``follow`` does the waiting on the shared poller; this module turns its outcome into what the agent reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..arguments import WaitForTaskArguments
from ..client import Credentials, TasksClient
from ..models import TaskResponse
from ..output import WaitResult
from ..statuses import classify, is_final
from ..summary import task_row, wait_text
from .follow import active_finder, many_result, many_text, wait_many, wait_one
from .poller import Poller

ReportProgress = Callable[[float, float | None, str | None], Awaitable[None]]
PROGRESS_STEP = 0.001
"""Progress must increase with every notification, even two within one rounded second."""


class Progress:
    """Progress is the time waited, of the budget when there is one: always increasing, never past its total."""

    def __init__(self, report: ReportProgress, budget: float) -> None:
        self._report = report
        self.total = budget if budget > 0 else None
        self._last = 0.0

    async def __call__(self, elapsed: float, message: str) -> None:
        self._last = max(self._last + PROGRESS_STEP, round(elapsed, 3))
        if self.total is not None:
            self._last = min(self._last, self.total)
        await self._report(self._last, self.total, message)


def _keep_waiting(checked: WaitForTaskArguments, default_timeout: float) -> dict[str, Any]:
    """What a follow-up call repeats besides the tasks: the budget, and wait_for when given."""
    keep: dict[str, Any] = {"timeout_seconds": checked.timeout_seconds or default_timeout}
    if checked.wait_for:
        keep["wait_for"] = sorted(status.value for status in checked.wait_for)
    return keep


async def answer_wait(
    checked: WaitForTaskArguments,
    *,
    poller: Poller,
    client: TasksClient,
    credentials: Credentials,
    progress: Progress,
    default_timeout: float,
) -> tuple[str, WaitResult]:
    """Wait as the arguments say (task_id, task_ids, or a selection) and answer; raises MixpeekError."""
    if checked.task_id is not None:
        return await _one(checked, checked.task_id, poller, credentials, progress, default_timeout)
    return await _many(checked, poller, client, credentials, progress, default_timeout)


async def _one(
    checked: WaitForTaskArguments,
    task_id: str,
    poller: Poller,
    credentials: Credentials,
    progress: Progress,
    default_timeout: float,
) -> tuple[str, WaitResult]:
    async def on_poll(task: TaskResponse, elapsed: float, polls: int) -> None:
        row = task_row(task)
        tier = f" · tier {row.tier}" if row.tier else ""
        await progress(elapsed, f"{row.status}{tier} · {elapsed:.0f} s elapsed · poll {polls}")

    outcome = await wait_one(
        poller,
        credentials,
        task_id,
        budget=checked.timeout_seconds,
        stop_statuses={status.value for status in checked.wait_for or ()},
        on_poll=on_poll,
    )
    next_call = None
    if outcome.outcome == "timed_out":  # the poller remembers where the backoff got to
        keep = _keep_waiting(checked, default_timeout)
        if "wait_for" in keep:  # as the agent gave it
            keep["wait_for"] = [status.value for status in checked.wait_for or ()]
        next_call = {"task_id": task_id, **keep}
    result = WaitResult(
        task=task_row(outcome.task),
        outcome=outcome.outcome,
        finished=is_final(classify(outcome.task.status)),
        waited_seconds=round(outcome.waited, 2),
        polls=outcome.polls,
        next_call=next_call,
        last_error=outcome.last_error,
    )
    return wait_text(result), result


async def _many(
    checked: WaitForTaskArguments,
    poller: Poller,
    client: TasksClient,
    credentials: Credentials,
    progress: Progress,
    default_timeout: float,
) -> tuple[str, WaitResult]:
    """task_ids (until all/any) or a selection (until none_active): see follow.py."""

    async def report(message: str, elapsed: float) -> None:
        await progress(elapsed, f"{message} · {elapsed:.0f} s elapsed")

    until = checked.until or "all"
    stop = {status.value for status in checked.wait_for or ()}
    keep = _keep_waiting(checked, default_timeout)
    if checked.task_ids is not None:
        outcome = await wait_many(
            poller,
            credentials,
            until=until,
            budget=checked.timeout_seconds,
            task_ids=checked.task_ids,
            stop_statuses=stop,
            report=report,
        )
        running = [item.task_id for item in outcome.followed.values() if not item.finished]
        next_call = {"task_ids": running, "until": until, **keep}
    else:
        selection = checked.selection()
        outcome = await wait_many(
            poller,
            credentials,
            until="none_active",
            budget=checked.timeout_seconds,
            find_active=active_finder(client, credentials, selection),
            stop_statuses=stop,
            report=report,
        )
        next_call = {**selection.model_dump(mode="json", exclude_none=True), "until": "none_active", **keep}
    result = many_result(outcome, next_call)
    return many_text(result), result
