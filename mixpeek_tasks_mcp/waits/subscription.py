"""One wait's side of the shared poller: what a wait follows, and what the poller's checks told it.

Kept apart from poller.py, which schedules and sends the checks: a wait (follow.py, task_watch.py,
subscriptions.py) holds a ``Subscription`` and reads ``Observation``s, and never needs the loop's scheduling.
``Poller.subscribe`` makes one; ``follow``/``drop``/``close`` attach it to (and detach it from) the poller's
entries, which live only while some subscription watches them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from ..budget import BudgetNote, current_context
from ..client import Credentials, MixpeekError
from ..clock import wait_event
from ..draining import DRAIN
from ..models import TaskResponse
from ..observability import hooks as observe
from ..statuses import classify, is_final

if TYPE_CHECKING:
    from .poller import Poller


@dataclass(frozen=True)
class Observation:
    """One check of one task: the task, or why the check failed."""

    task: TaskResponse | None
    error: MixpeekError | None
    at: float

    @property
    def final(self) -> bool:
        return self.task is not None and is_final(classify(self.task.status))


class Subscription:
    """One wait's view of the poller: the tasks it follows, and the observations that arrived for them."""

    def __init__(self, poller: Poller, credentials: Credentials, deadline: float) -> None:
        self.poller = poller
        self.credentials = credentials
        self.deadline = deadline
        self.identity = credentials.identity  # the poller's entries are keyed by it (credentials_identity)
        self.owner, self.note = current_context().owner, current_context().note or BudgetNote()  # budget/
        self.task_ids: set[str] = set()
        self.pending: dict[str, Observation] = {}
        self.polls = 0
        self.trace_link = observe.trace_link()
        self._event = anyio.Event()

    def deliver(self, task_id: str, observation: Observation) -> None:
        self.pending[task_id] = observation
        if observation.task is not None:
            self.polls += 1
        self._event.set()

    def follow(self, task_ids: Iterable[str]) -> None:
        for task_id in task_ids:
            if task_id not in self.task_ids:
                self.task_ids.add(task_id)
                self.poller._attach(self, task_id)

    def drop(self, task_id: str) -> None:
        if task_id in self.task_ids:
            self.task_ids.discard(task_id)
            self.pending.pop(task_id, None)
            self.poller._detach(self, task_id)

    def close(self) -> None:
        for task_id in list(self.task_ids):
            self.drop(task_id)

    def next_attempt(self, task_id: str) -> int:
        entry = self.poller._entries.get((self.identity, task_id))
        return entry.attempt if entry is not None else 0

    async def updates(self, until: float) -> dict[str, Observation]:
        """What arrived since the last call, waiting for something until the clock reaches ``until``."""
        if not self.pending:
            with DRAIN.cuts_short():  # a shutdown ends the wait (draining.py)
                await wait_event(self._event, self.poller.clock, until - self.poller.clock.now())
        self._event = anyio.Event()
        arrived, self.pending = self.pending, {}
        return arrived
