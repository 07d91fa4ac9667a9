"""Waits served by the shared poller: one task (the classic wait) or many (all / any / none_active).

Semantics of ``until``: ``all`` ends when every task has finished; ``any`` ends at the first task that finishes,
whatever its outcome (success, partial, failure, stalled, reached) — so it is also "the first failure" when a
failure comes first; ``none_active`` surveys a selection (``selection.py``), follows its active tasks (at most
``MAX_FOLLOWED``) and, once they have all finished, surveys it again: it ends when none is active. A selection
with nothing active ends at once, with what the survey found.

Each wait is one loop over its poller subscription: ``updates`` hands over what the poller saw, ``settled``
(``rules.py``) says whether that ends the wait for a task. Nothing here sleeps or schedules: the poller does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field

from ..client import Credentials, MixpeekError, TaskNotFoundError
from ..draining import DRAIN
from ..models import TaskResponse
from .poller import Poller
from .rules import WaitOutcome, is_budget_refusal, is_transient, settled
from .selection import MAX_FOLLOWED, Survey, Surveyor
from .subscription import Observation, Subscription

DEADLINE_GRACE = 5.0
"""How long past its deadline a wait still waits for the last check (the request itself takes time)."""
FINISHED_OUTCOMES = frozenset({"success", "partial", "failure", "stalled", "reached", "not_found"})

OnPoll = Callable[[TaskResponse, float, int], Awaitable[None]]
Report = Callable[[str, float], Awaitable[None]]


async def wait_one(
    poller: Poller,
    credentials: Credentials,
    task_id: str,
    *,
    budget: float,
    stop_statuses: Collection[str] = (),
    on_poll: OnPoll | None = None,
) -> WaitOutcome:
    """Until the task settles (a final status, or one of ``stop_statuses``) or the budget runs out, with a last
    check at the deadline; the first check comes at once, later ones when the poller's schedule says.

    A wait that ends before any check could be made (the key's request budget had no room, or the server began
    shutting down) is not an error: it times out with no task and says why (``unchecked``), so the caller
    calls again. Mixpeek's own transient errors with no observation stay errors, as do 404s and bad keys."""
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
                    return _unchecked(poller, subscription, last_error, now - start, ending)
                note = str(last_error) if last_error is not None else None
                return WaitOutcome(last_task, "timed_out", polls, now - start, note)
    finally:
        subscription.close()


def _unchecked(
    poller: Poller, subscription: Subscription, error: MixpeekError | None, waited: float, ending: bool
) -> WaitOutcome:
    """The answer of a wait that never saw its task: still waiting, when it was the budget or a shutdown."""
    if error is not None and not is_budget_refusal(error) and not ending:
        raise error  # Mixpeek itself failed every check (a timeout, a bad body): an error, as before
    why = why_unseen(poller, subscription, refused=error is not None, waited=waited, ending=ending)
    if why is None:
        raise MixpeekError("No answer from Mixpeek before the deadline; call again.")
    return WaitOutcome(None, "timed_out", 0, waited, str(error) if error is not None else None, unchecked=why)


def why_unseen(poller: Poller, subscription: Subscription, *, refused: bool, waited: float, ending: bool) -> str | None:
    """Why a wait saw nothing of a task: a shutdown, or its key's budget (a check refused for want of room, or
    still queued for a grant, e.g. under a longer wait's deadline); None when neither. A budget hold counts the
    whole wait in the call's budget note, since no grant came to count it."""
    if ending:
        return "the server began shutting down before its check could be made"
    budget = poller.client.budget_for(subscription.credentials)
    if not (refused or budget.queued > 0):
        return None
    subscription.note.add(max(0.0, waited - subscription.note.waited), budget.limit_text())
    return f"this API key's request budget ({budget.limit_text()}) had no room for its check before the deadline"


@dataclass
class Followed:
    """One task of a many-task wait: its last state, and when this call saw it finish."""

    task_id: str
    task: TaskResponse | None = None
    outcome: str = "running"
    seen_after: float | None = None
    """Seconds into the call when it was seen finished (None while running)."""
    seen_running: bool = False
    """Whether this call saw it unfinished first: then it finished during the call."""
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED_OUTCOMES

    def apply(self, observation: Observation, elapsed: float, stop_statuses: Collection[str]) -> None:
        if observation.task is not None:
            self.task, self.error = observation.task, None
            self.outcome = settled(observation.task, stop_statuses) or "running"
        elif isinstance(observation.error, TaskNotFoundError):
            self.outcome, self.error = "not_found", str(observation.error)
        elif observation.error is not None and not is_transient(observation.error):
            raise observation.error
        if self.finished:
            self.seen_after = round(elapsed, 2)
        elif observation.task is not None:
            self.seen_running = True


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
    known: dict[str, Followed] = field(default_factory=dict)
    """Selection waits: the selection's other tasks, as its surveys last saw them (finished ones, mostly)."""
    matched: int | None = None
    """Selection waits: tasks matching in all (0: none; a mistyped id)."""
    unchecked: str | None = None
    """How many followed tasks were never checked, and why (the key's budget, a shutdown); None when all were."""

    def every_task(self) -> list[Followed]:
        return [*self.known.values(), *self.followed.values()]


def progress_message(items: Sequence[Followed], total: int | None = None) -> str:
    """'3 of 7 finished · 1 failed'."""
    done = sum(1 for item in items if item.finished)
    failed = sum(1 for item in items if item.outcome in ("failure", "not_found"))
    text = f"{done} of {max(total or 0, len(items))} finished"
    return text + (f" · {failed} failed" if failed else "")


def _condition_met(until: str, followed: Sequence[Followed]) -> bool:
    if until == "any":
        return any(item.finished for item in followed)
    return all(item.finished for item in followed)


async def wait_many(
    poller: Poller,
    credentials: Credentials,
    *,
    until: str,
    budget: float,
    task_ids: Sequence[str] = (),
    survey: Surveyor | None = None,
    stop_statuses: Collection[str] = (),
    report: Report | None = None,
) -> ManyOutcome:
    """Wait on ``task_ids`` (until all/any) or on a selection's active tasks (``survey``, none_active)."""
    clock = poller.clock
    start = clock.now()
    deadline = start + budget
    followed: dict[str, Followed] = {}
    known: dict[str, Followed] = {}
    subscription = poller.subscribe(credentials, [], deadline)
    last_error: str | None = None
    refused = False  # a check was not sent for want of budget
    checked_at_deadline: set[str] = set()
    looked: Survey | None = None

    async def look() -> bool:
        """Survey the selection and follow its active tasks; False when none is active."""
        nonlocal looked
        assert survey is not None
        looked = await survey(deadline)
        elapsed = clock.now() - start
        new = [task_id for task_id in looked.active if task_id not in followed][: MAX_FOLLOWED - len(followed)]
        for task_id in new:
            followed[task_id] = known.pop(task_id) if task_id in known else Followed(task_id)
        subscription.follow(new)
        for task in reversed(looked.tasks):  # oldest first, as a batch's tiers ran
            if task.task_id not in followed:
                item = known.setdefault(task.task_id, Followed(task.task_id))
                if not item.finished:
                    item.apply(Observation(task, None, clock.now()), elapsed, ())
        return bool(new) or any(not item.finished for item in followed.values())

    def matched() -> int | None:
        if looked is None:
            return None
        # tasks that left the selection while followed (a status selection) still count; none counts twice
        return max(looked.total, len(followed) + len(known))

    def not_followed() -> int:
        if looked is None:
            return 0
        running = sum(1 for item in followed.values() if not item.finished)
        return max(0, looked.active_total - running)

    try:
        if survey is not None:
            await look()
        else:
            for task_id in task_ids:
                followed.setdefault(task_id, Followed(task_id))
            subscription.follow(followed)
        while True:
            met = _condition_met(until, list(followed.values()))
            if met and survey is not None and followed and clock.now() < deadline:
                met = not await look()  # all followed finished: is anything else of the selection active?
            if met or clock.now() >= deadline + DEADLINE_GRACE or DRAIN.begun:
                break
            arrived = await subscription.updates(deadline + DEADLINE_GRACE)
            elapsed = clock.now() - start
            for task_id, observation in arrived.items():
                item = followed.get(task_id)
                if item is None:
                    continue
                if observation.error is not None and is_transient(observation.error):
                    last_error = str(observation.error)
                    refused = refused or is_budget_refusal(observation.error)
                item.apply(observation, elapsed, stop_statuses)
                if item.finished:
                    subscription.drop(task_id)  # stop polling what is done
            if arrived and report is not None:
                await report(progress_message([*known.values(), *followed.values()], matched()), elapsed)
            checked_at_deadline.update(task_id for task_id, seen in arrived.items() if seen.at >= deadline)
            if clock.now() >= deadline and all(
                item.finished or task_id in checked_at_deadline for task_id, item in followed.items()
            ):
                break  # every unfinished task had its last check at the deadline
        everything = [*known.values(), *followed.values()] if survey is not None else list(followed.values())
        waited = clock.now() - start
        unseen = sum(1 for item in followed.values() if item.task is None and not item.finished)
        why = why_unseen(poller, subscription, refused=refused, waited=waited, ending=DRAIN.begun) if unseen else None
        return ManyOutcome(
            until=until,
            followed=followed,
            met=_condition_met(until, list(followed.values())) and not_followed() == 0,
            waited=waited,
            polls=subscription.polls,
            not_followed=not_followed(),
            last_error=last_error,
            counts=dict(Counter(item.outcome for item in everything).most_common()),
            known=known,
            matched=matched(),
            unchecked=f"{unseen} task(s) could not be checked yet: {why}" if why else None,
        )
    finally:
        subscription.close()
