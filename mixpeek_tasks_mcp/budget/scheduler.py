"""Whose request goes next on one key: interactive before background, background sessions in turn.

Only the head of the queue may take the next grant; everyone else waits for a change. Interactive requests go
in arrival order. Background ones take turns by owner (the MCP session): the owner served last goes to the
back of the rotation, so one session's 10,000-task scan gets one request in N when N sessions are polling,
never all of them.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

from .context import Priority


@dataclass(eq=False)
class Waiter:
    priority: Priority
    owner: str
    seq: int = field(default=0)


class TurnQueue:
    """The waiters of one key, and the background owners' rotation."""

    def __init__(self) -> None:
        self._interactive: list[Waiter] = []
        self._background: dict[str, list[Waiter]] = {}
        self._rotation: OrderedDict[str, None] = OrderedDict()
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._interactive) + sum(len(waiters) for waiters in self._background.values())

    def add(self, priority: Priority, owner: str) -> Waiter:
        waiter = Waiter(priority, owner, next(self._seq))
        if priority is Priority.INTERACTIVE:
            self._interactive.append(waiter)
        else:
            self._background.setdefault(owner, []).append(waiter)
            self._rotation.setdefault(owner, None)
        return waiter

    def remove(self, waiter: Waiter) -> None:
        if waiter.priority is Priority.INTERACTIVE:
            if waiter in self._interactive:
                self._interactive.remove(waiter)
            return
        waiters = self._background.get(waiter.owner)
        if waiters is None or waiter not in waiters:
            return
        waiters.remove(waiter)
        if not waiters:
            del self._background[waiter.owner]
            self._rotation.pop(waiter.owner, None)

    def head(self) -> Waiter | None:
        """The one waiter that may take the next grant."""
        if self._interactive:
            return self._interactive[0]
        for owner in self._rotation:
            return self._background[owner][0]
        return None

    def served(self, waiter: Waiter) -> None:
        """``waiter`` got its grant: its owner goes to the back of the rotation."""
        if waiter.priority is Priority.BACKGROUND and waiter.owner in self._rotation:
            self._rotation.move_to_end(waiter.owner)

    def background_waiting(self) -> int:
        return sum(len(waiters) for waiters in self._background.values())
