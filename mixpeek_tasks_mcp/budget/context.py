"""Who is asking: each request to Mixpeek says its priority, its owner (the MCP session) and whether it is
still wanted, so the key's budget can serve people before pollers, take turns between sessions, and drop a
request nobody waits for any more.

Tools set the context once for the whole call (``acting_as``); the shared poller, which runs in its own task,
passes one explicitly with each check. A ``BudgetNote`` collects how long a call waited for the budget, so its
answer can say so in one line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import IntEnum

NOTE_THRESHOLD_SECONDS = 1.0
"""A budget wait shorter than this is not worth a line in the answer."""


class Priority(IntEnum):
    """Lower goes first. Interactive: someone reads the answer now (list_tasks, resource reads, prompt look-ups,
    the first page of a triage). Background: work that can be late (poll checks, later triage pages,
    completion look-ups)."""

    INTERACTIVE = 0
    BACKGROUND = 1


@dataclass
class BudgetNote:
    """How long one tool call waited for its key's budget, and the limit that made it wait."""

    waited: float = 0.0
    limit_text: str = ""
    waiting: bool = False
    """True while one of the call's requests is queued for the budget (a scan that runs out of time then
    knows it was the budget, not Mixpeek, that held it up)."""

    def add(self, seconds: float, limit_text: str) -> None:
        if seconds > 0:
            self.waited += seconds
            self.limit_text = limit_text

    def line(self) -> str | None:
        """'waited 6 s for the request budget (10/min for this key, from Mixpeek's headers)', or None."""
        if self.waited < NOTE_THRESHOLD_SECONDS:
            return None
        return f"Waited {self.waited:.0f} s for the request budget ({self.limit_text})."


@dataclass(frozen=True)
class RequestContext:
    priority: Priority = Priority.INTERACTIVE
    owner: str = ""
    """Whose turn it is among background callers: a session's fingerprint, never the session id itself."""
    wanted: Callable[[], bool] | None = None
    """Asked while the request waits for the budget: False drops it unsent (its wait or scan has ended)."""
    note: BudgetNote | None = None

    def with_priority(self, priority: Priority) -> RequestContext:
        return replace(self, priority=priority)

    def still_wanted(self) -> bool:
        return self.wanted is None or self.wanted()


DEFAULT_CONTEXT = RequestContext()
"""A request nobody described: interactive, no owner (a CLI call, a test driving the client directly)."""
_current: ContextVar[RequestContext | None] = ContextVar("mixpeek_request_context", default=None)


def current_context() -> RequestContext:
    return _current.get() or DEFAULT_CONTEXT


@contextmanager
def acting_as(context: RequestContext) -> Iterator[RequestContext]:
    """Every request made inside the block (in this task) carries ``context``."""
    token = _current.set(context)  # a ContextVar per task: concurrent calls never see each other's
    try:
        yield context
    finally:
        _current.reset(token)


def owner_of(session_hint: str | None) -> str:
    """A short fingerprint of a session (or connection) id, fit for a table key and never shown."""
    if not session_hint:
        return ""
    return hashlib.sha256(session_hint.encode()).hexdigest()[:12]
