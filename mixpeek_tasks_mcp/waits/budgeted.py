"""The poller's checks as their key's budget sees them: background work, taking its turn as the session of a
watcher, wanted only while someone still watches its tasks (else dropped unsent), and telling each wait it
serves how long the budget held it (the wait's answer says so in one line)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..budget import BudgetNote, Priority, RequestContext


class Watched(Protocol):
    watchers: Any
    """The subscriptions following this entry (each with ``owner`` and ``note``)."""


@dataclass
class WatchersNote(BudgetNote):
    """A budget wait of one check, added to the note of every wait that check serves, at the grant."""

    entries: Sequence[Watched] = field(default_factory=list)

    def add(self, seconds: float, limit_text: str) -> None:
        super().add(seconds, limit_text)
        for watcher in {watcher for entry in self.entries for watcher in entry.watchers}:
            watcher.note.add(seconds, limit_text)


def check_context(entries: Sequence[Watched]) -> RequestContext:
    owner = next((watcher.owner for entry in entries for watcher in entry.watchers), "")
    return RequestContext(
        priority=Priority.BACKGROUND,
        owner=owner,
        wanted=lambda: any(entry.watchers for entry in entries),
        note=WatchersNote(entries=entries),
    )
