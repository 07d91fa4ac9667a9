"""The wait_for_task answer: what to wait on, the wait itself (``follow``), and the structured result.

The call path of one wait, top to bottom: ``answer_wait`` (here) -> ``follow.wait_one`` / ``follow.wait_many``
(with ``selection.surveyor`` for a selection) -> the shared ``poller`` (schedule: ``schedule`` + ``estimate``)
-> back here for the result, and to ``text`` for what the agent reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..arguments import WaitForTaskArguments
from ..bounds import most_that_fit, within
from ..client import Credentials, TasksClient
from ..models import TaskResponse
from ..output import WaitLine, WaitResult
from ..statuses import classify, is_final
from ..summary import task_row
from .follow import Followed, ManyOutcome, wait_many, wait_one
from .poller import Poller
from .rules import finish_time, iso
from .selection import selection_name, summarize, surveyor
from .text import MAX_TASK_LINES, many_text, one_text, unchecked_text

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
    started = datetime.now(UTC)
    stop = {status.value for status in checked.wait_for or ()}
    keep = _keep_waiting(checked, default_timeout)

    async def report(message: str, elapsed: float) -> None:
        await progress(elapsed, f"{message} · {elapsed:.0f} s elapsed")

    if checked.task_id is not None:
        return await _one(checked, checked.task_id, poller, credentials, progress, keep, started)
    if checked.task_ids is not None:
        until = checked.until or "all"
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
        # until any: the others are still worth waiting on, with the same call shape (the watch prompt's loop)
        next_call = {"task_ids": running, "until": until, **keep} if running else None
        return _many_answer(outcome, next_call, started, None)
    selection = checked.selection()
    outcome = await wait_many(
        poller,
        credentials,
        until="none_active",
        budget=checked.timeout_seconds,
        survey=surveyor(client, credentials, selection),
        stop_statuses=stop,
        report=report,
    )
    next_call = {**selection.model_dump(mode="json", exclude_none=True), "until": "none_active", **keep}
    return _many_answer(outcome, next_call, started, selection_name(selection))


async def _one(
    checked: WaitForTaskArguments,
    task_id: str,
    poller: Poller,
    credentials: Credentials,
    progress: Progress,
    keep: dict[str, Any],
    started: datetime,
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
        if "wait_for" in keep:  # as the agent gave it
            keep = {**keep, "wait_for": [status.value for status in checked.wait_for or ()]}
        next_call = {"task_id": task_id, **keep}
    if outcome.task is None:  # never checked (the budget, or a shutdown): still waiting, not an error
        unchecked = WaitResult(
            outcome="timed_out",
            finished=False,
            waited_seconds=round(outcome.waited, 2),
            polls=0,
            next_call=next_call,
            last_error=outcome.last_error or f"Not checked yet: {outcome.unchecked}",
        )
        return unchecked_text(task_id, unchecked, why=outcome.unchecked or "no check could be made"), unchecked
    finished = is_final(classify(outcome.task.status))
    result = WaitResult(
        task=task_row(outcome.task),
        finished_at=iso(finish_time(outcome.task)),
        seen_after_seconds=round(outcome.waited, 2) if finished else None,
        outcome=outcome.outcome,
        finished=finished,
        waited_seconds=round(outcome.waited, 2),
        polls=outcome.polls,
        next_call=next_call,
        last_error=outcome.last_error,
    )
    # seen finished at the first check, and finished before the call: it did not finish during this wait
    during = outcome.polls > 1 or _finished_since(outcome.task, started)
    return one_text(result, during=during), result


def _finished_since(task: TaskResponse, started: datetime) -> bool:
    moment = finish_time(task)
    return moment is not None and moment >= started


def _line(item: Followed) -> WaitLine:
    return WaitLine(
        task_id=item.task_id,
        outcome=item.outcome,
        task=task_row(item.task) if item.task is not None else None,
        finished_at=iso(finish_time(item.task)) if item.task is not None else None,
        seen_after_seconds=item.seen_after,
        error=item.error[:300] if item.error else None,
    )


def _many_answer(
    outcome: ManyOutcome, next_call: dict[str, Any] | None, started: datetime, selection: str | None
) -> tuple[str, WaitResult]:
    """The structured answer, within the size bounds together with its text: when every task's line does not
    fit, the first lines that do are kept and ``tasks_left_out`` says how many are not."""
    items = outcome.every_task() if selection is not None else list(outcome.followed.values())
    during = {
        item.task_id
        for item in items
        if item.finished and (item.seen_running or (item.task is not None and _finished_since(item.task, started)))
    }
    lines = [_line(item) for item in items]
    running = [item.task_id for item in outcome.followed.values() if not item.finished]
    verdict = {"all": "all_finished", "any": "any_finished", "none_active": "none_active"}[outcome.until]
    if outcome.matched == 0:
        verdict = "no_match"
    full = WaitResult(
        outcome=verdict if outcome.met else "timed_out",
        finished=outcome.met,
        until=outcome.until,
        tasks=lines,
        counts=outcome.counts,
        still_running=running,
        not_followed=outcome.not_followed or None,
        matched=outcome.matched,
        summary=summarize([item.task for item in outcome.every_task() if item.task is not None], outcome.matched or 0)
        if outcome.matched
        else None,
        waited_seconds=round(outcome.waited, 2),
        polls=outcome.polls,
        next_call=next_call if not outcome.met or outcome.until == "any" else None,
        last_error=(outcome.last_error or outcome.unchecked) if not outcome.met else None,
    )

    def shortened(kept: int) -> WaitResult:
        return full.model_copy(update={"tasks": lines[:kept], "tasks_left_out": (len(lines) - kept) or None})

    def text(result: WaitResult) -> str:
        return many_text(result, selection=selection, during=during, unchecked=outcome.unchecked)

    # at most MAX_TASK_LINES lines, and fewer when they do not fit; tasks_left_out counts the others
    kept = most_that_fit(min(len(lines), MAX_TASK_LINES), lambda n: within(text(shortened(n)), shortened(n)))
    result = shortened(kept)
    return text(result), result
