"""Waits served by the shared poller: one task (the classic wait) or many (all / any / none_active).

Semantics of ``until``: ``all`` ends when every task has finished; ``any`` ends at the first task that finishes,
whatever its outcome (success, partial, failure, stalled, reached) — so it is also "the first failure" when a
failure comes first; ``none_active`` follows the active tasks matching a selection (at most
``MAX_FOLLOWED``) and, once they have all finished, lists the selection again: it ends when none is active.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bounds import MAX_TEXT_CHARS, most_that_fit, within
from ..client import Credentials, MixpeekError, TaskNotFoundError, TasksClient
from ..draining import DRAIN
from ..enums import SortDirection
from ..models import ListTasksRequest, LogicalOperator, SortOption, TaskResponse, TaskSelection
from ..output import WaitLine, WaitResult
from ..statuses import ACTIVE, classify, is_final
from ..summary import DATA_NOTE, quote_untrusted, row_line, task_row
from .poller import Observation, Poller
from .rules import WaitOutcome, is_transient, outcome_of, settled

MAX_TASK_IDS = 50
"""Most ids one call may wait on (and most task lines in an answer)."""
MAX_FOLLOWED = 50
"""Most matching active tasks a none_active wait follows; beyond it, the answer says how many were left out."""
DEADLINE_GRACE = 5.0
"""How long past its deadline a wait still waits for the last check (the request itself takes time)."""
MAX_RUNNING_IDS_IN_TEXT = 50
FINISHED_OUTCOMES = frozenset({"success", "partial", "failure", "stalled", "reached", "not_found"})

OnPoll = Callable[[TaskResponse, float, int], Awaitable[None]]
Report = Callable[[str, float], Awaitable[None]]
FindActive = Callable[[float], Awaitable[tuple[list[str], int]]]
"""Lists the selection's active tasks: (ids, how many match in all), given the call's deadline."""


async def wait_one(
    poller: Poller,
    credentials: Credentials,
    task_id: str,
    *,
    budget: float,
    stop_statuses: Collection[str] = (),
    on_poll: OnPoll | None = None,
) -> WaitOutcome:
    """The one-task wait, on the shared poller: the outcomes of ``reference.wait_for_task`` (the same ``settled``
    rule), with the schedule kept by the poller instead of a loop of its own."""
    clock = poller.clock
    start = clock.now()
    deadline = start + budget
    subscription = poller.subscribe(credentials, [task_id], deadline)
    polls = 0
    last_task: TaskResponse | None = None
    last_error: MixpeekError | None = None
    try:
        while True:
            observation = (await subscription.updates(deadline + DEADLINE_GRACE)).get(task_id)
            if observation is not None and observation.error is not None:
                if not is_transient(observation.error):
                    raise observation.error
                last_error = observation.error
            elif observation is not None and observation.task is not None:
                last_task, last_error = observation.task, None
                polls += 1
                elapsed = clock.now() - start
                if on_poll is not None:
                    await on_poll(last_task, elapsed, polls)
                outcome = settled(last_task, stop_statuses)
                if outcome is not None:
                    return WaitOutcome(last_task, outcome, polls, elapsed)
            now = clock.now()
            ending = DRAIN.begun  # the server is shutting down: answer now, as at the deadline
            if ending or (now >= deadline and (observation is not None or now >= deadline + DEADLINE_GRACE)):
                if last_task is None:
                    raise last_error or MixpeekError("No answer from Mixpeek before the deadline; call again.")
                note = str(last_error) if last_error is not None else None
                return WaitOutcome(last_task, "timed_out", polls, now - start, note)
    finally:
        subscription.close()


@dataclass
class Followed:
    task_id: str
    task: TaskResponse | None = None
    outcome: str = "running"
    finished_after: float | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED_OUTCOMES


@dataclass
class ManyOutcome:
    until: str
    followed: dict[str, Followed]
    met: bool
    waited: float
    polls: int
    not_followed: int = 0
    last_error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def progress_message(followed: Sequence[Followed]) -> str:
    """'3 of 7 finished · 1 failed'."""
    done = sum(1 for item in followed if item.finished)
    failed = sum(1 for item in followed if item.outcome in ("failure", "not_found"))
    text = f"{done} of {len(followed)} finished"
    return text + (f" · {failed} failed" if failed else "")


def _condition_met(until: str, followed: Sequence[Followed]) -> bool:
    if until == "any":
        return any(item.finished for item in followed)
    return all(item.finished for item in followed)


def _apply(item: Followed, observation: Observation, elapsed: float, stop_statuses: Collection[str]) -> None:
    if observation.task is not None:
        item.task, item.error = observation.task, None
        status_class = classify(observation.task.status)
        if is_final(status_class):
            item.outcome = outcome_of(status_class)
        elif observation.task.status in stop_statuses:
            item.outcome = "reached"
        if item.finished:
            item.finished_after = round(elapsed, 2)
    elif isinstance(observation.error, TaskNotFoundError):
        item.outcome, item.error = "not_found", str(observation.error)
        item.finished_after = round(elapsed, 2)
    elif observation.error is not None and not is_transient(observation.error):
        raise observation.error


async def wait_many(
    poller: Poller,
    credentials: Credentials,
    *,
    until: str,
    budget: float,
    task_ids: Sequence[str] = (),
    find_active: FindActive | None = None,
    stop_statuses: Collection[str] = (),
    report: Report | None = None,
) -> ManyOutcome:
    """Wait on ``task_ids`` (until all/any) or on a selection's active tasks (``find_active``, none_active)."""
    clock = poller.clock
    start = clock.now()
    deadline = start + budget
    followed: dict[str, Followed] = {}
    subscription = poller.subscribe(credentials, [], deadline)
    not_followed = 0
    last_error: str | None = None
    checked_at_deadline: set[str] = set()

    async def add_active() -> bool:
        """Follow the selection's active tasks; False when none is active."""
        nonlocal not_followed
        assert find_active is not None
        ids, total = await find_active(deadline)
        new = [task_id for task_id in ids if task_id not in followed][: MAX_FOLLOWED - len(followed)]
        not_followed = max(0, total - len(new) - sum(1 for item in followed.values() if not item.finished))
        for task_id in new:
            followed[task_id] = Followed(task_id)
        subscription.follow(new)
        return bool(new) or any(not item.finished for item in followed.values())

    try:
        if find_active is not None:
            await add_active()
        else:
            for task_id in task_ids:
                followed.setdefault(task_id, Followed(task_id))
            subscription.follow(followed)
        while True:
            items = list(followed.values())
            met = _condition_met(until, items)
            if met and find_active is not None and clock.now() < deadline:
                met = not await add_active()  # all followed finished: is anything else of the selection active?
            if met:
                break
            now = clock.now()
            if now >= deadline + DEADLINE_GRACE or DRAIN.begun:
                break
            arrived = await subscription.updates(deadline + DEADLINE_GRACE)
            elapsed = clock.now() - start
            for task_id, observation in arrived.items():
                item = followed.get(task_id)
                if item is None:
                    continue
                if observation.error is not None and is_transient(observation.error):
                    last_error = str(observation.error)
                _apply(item, observation, elapsed, stop_statuses)
                if item.finished:
                    subscription.drop(task_id)  # stop polling what is done
            if arrived and report is not None:
                await report(progress_message(list(followed.values())), elapsed)
            checked_at_deadline.update(task_id for task_id, seen in arrived.items() if seen.at >= deadline)
            if clock.now() >= deadline and all(
                item.finished or task_id in checked_at_deadline for task_id, item in followed.items()
            ):
                break  # every unfinished task had its last check at the deadline
        items = list(followed.values())
        return ManyOutcome(
            until=until,
            followed=followed,
            met=_condition_met(until, items) and (find_active is None or not_followed == 0),
            waited=clock.now() - start,
            polls=subscription.polls,
            not_followed=not_followed,
            last_error=last_error,
            counts=dict(Counter(item.outcome for item in items).most_common()),
        )
    finally:
        subscription.close()


def active_finder(client: TasksClient, credentials: Credentials, selection: TaskSelection) -> FindActive:
    """Lists the selection's tasks that are still active, oldest first, at most ``MAX_FOLLOWED`` of them."""
    active = {"field": "status", "operator": "in", "value": sorted(status.value for status in ACTIVE)}
    items: list[Any] = [active]
    if selection.filters is not None:
        items.append(selection.filters.model_dump(mode="json", by_alias=True, exclude_none=True))
    request = ListTasksRequest.model_construct(
        status=selection.status,
        task_type=selection.task_type,
        search=selection.search,
        filters=LogicalOperator.model_validate({"AND": items}),
        sort=SortOption(field="created_at", direction=SortDirection.ASC),
    )

    async def find(deadline: float) -> tuple[list[str], int]:
        response = await client.list_tasks(request, credentials=credentials, limit=MAX_FOLLOWED, offset=0)
        ids = [task.task_id for task in response.results]
        return ids, max(response.pagination.total or 0, len(ids))

    return find


def many_result(outcome: ManyOutcome, next_call: dict[str, Any] | None) -> WaitResult:
    """The structured answer, within the size bounds together with its text (``many_text``): when every task's
    line does not fit, the first lines that do are kept and ``tasks_left_out`` says how many are not."""
    full = _many_result(outcome, next_call)
    lines = full.tasks or []

    def shortened(kept: int) -> WaitResult:
        return full.model_copy(update={"tasks": lines[:kept], "tasks_left_out": (len(lines) - kept) or None})

    kept = most_that_fit(len(lines), lambda n: within(many_text(shortened(n)), shortened(n)))
    return shortened(kept)


def _many_result(outcome: ManyOutcome, next_call: dict[str, Any] | None) -> WaitResult:
    lines = [
        WaitLine(
            task_id=item.task_id,
            outcome=item.outcome,
            task=task_row(item.task) if item.task is not None else None,
            finished_after_seconds=item.finished_after,
            error=item.error[:300] if item.error else None,
        )
        for item in list(outcome.followed.values())[:MAX_TASK_IDS]
    ]
    running = [item.task_id for item in outcome.followed.values() if not item.finished]
    if outcome.met:
        verdict = {"all": "all_finished", "any": "any_finished", "none_active": "none_active"}[outcome.until]
    else:
        verdict = "timed_out"
    return WaitResult(
        outcome=verdict,
        finished=outcome.met,
        until=outcome.until,
        tasks=lines,
        counts=outcome.counts,
        still_running=running,
        not_followed=outcome.not_followed or None,
        waited_seconds=round(outcome.waited, 2),
        polls=outcome.polls,
        next_call=next_call if not outcome.met else None,
        last_error=outcome.last_error if not outcome.met else None,
    )


UNTIL_TEXT = {
    "all_finished": "all finished",
    "any_finished": "one finished",
    "none_active": "none of the matching tasks is active any more",
    "timed_out": "the time budget ran out",
}


def many_text(result: WaitResult) -> str:
    lines_in = result.tasks or []
    counts = ", ".join(f"{name} {count}" for name, count in (result.counts or {}).items())
    polls = f"{result.polls} check{'s' if result.polls != 1 else ''}"
    waited_on = len(lines_in) + (result.tasks_left_out or 0)
    head = f"Waited on {waited_on} task{'s' if waited_on != 1 else ''} (until {result.until}): "
    lines = [f"{head}{UNTIL_TEXT[result.outcome]} [{result.waited_seconds:.1f} s, {polls}] · {counts}"]
    if result.until == "none_active" and not lines_in and result.finished:
        lines[0] = f"No task matching the selection is active [{result.waited_seconds:.1f} s]."
    for line in lines_in:
        took = f" after {line.finished_after_seconds:.1f} s" if line.finished_after_seconds is not None else ""
        if line.task is not None:
            text = f"- {line.outcome}{took}: {row_line(line.task)}"
        else:
            text = f"- {line.outcome}{took}: {line.task_id}"
        if line.error:
            text += f"\n  {quote_untrusted(line.error, 240)}"
        lines.append(text)
    if result.tasks_left_out:
        lines.append(
            f"Lines of {result.tasks_left_out} more task(s) are left out to keep this answer under "
            f"{MAX_TEXT_CHARS:,} characters; the counts above and the ids below cover every task."
        )
    if any(line.task is not None and line.task.error for line in lines_in):
        lines.append(DATA_NOTE)
    if result.not_followed:
        lines.append(
            f"{result.not_followed} more matching task(s) were active but not followed (at most {MAX_FOLLOWED} at "
            "once); the call below follows them next."
        )
    if result.still_running:
        shown = result.still_running[:MAX_RUNNING_IDS_IN_TEXT]
        lines.append(f"Still running: {', '.join(shown)}")
    if result.next_call is not None:
        call = json.dumps(result.next_call, ensure_ascii=False)
        lines.append(f"To keep waiting on the unfinished ones, call wait_for_task {call}")
    if result.last_error:
        lines.append(f"Last poll problem: {quote_untrusted(result.last_error, 240)}")
    return "\n".join(lines)
