"""The poller's checks as their key's budget sees them: background work, taking its turn as the session of a
watcher, wanted only while someone still watches its tasks (else dropped unsent), and telling each wait it
served how long the budget held it (the wait's answer says so in one line)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..budget import BudgetNote, Priority, RequestContext


class Watched(Protocol):
    watchers: Any
    """The subscriptions following this entry (each with ``owner`` and ``note``)."""


def check_context(entries: Sequence[Watched]) -> RequestContext:
    owner = next((watcher.owner for entry in entries for watcher in entry.watchers), "")
    return RequestContext(
        priority=Priority.BACKGROUND,
        owner=owner,
        wanted=lambda: any(entry.watchers for entry in entries),
        note=BudgetNote(),
    )


def tell_waits(entries: Iterable[Watched], context: RequestContext) -> None:
    note = context.note
    if note is None or note.waited <= 0:
        return
    for watcher in {watcher for entry in entries for watcher in entry.watchers}:
        watcher.note.add(note.waited, note.limit_text)
