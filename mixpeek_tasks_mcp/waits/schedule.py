"""A task's poll schedule before any estimate: exponential backoff, resumed across calls.

``estimate.py`` may move a poll earlier than this schedule; the poller combines the two.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Clock


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: initial * factor**n, +-jitter, never above cap (Mixpeek suggests 1 s -> 30 s)."""

    initial: float = 1.0
    factor: float = 1.5
    cap: float = 30.0
    jitter: float = 0.1

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.initial * self.factor**attempt)
        return min(self.cap, base * (1 + self.jitter * (2 * rng() - 1)))


class BackoffMemory:
    """Where each task's backoff had got to when a wait ran out of budget, per key.

    An agent keeps waiting on a long task by calling again every 45 s or so; restarting at 1 s each time would
    poll a 5-minute task ~60 times instead of ~20. Entries are few and small; the oldest go first, and an
    entry not used for ``forget_after`` seconds no longer applies. Entries are kept per ``identity`` (the
    poller's credentials identity), ``max_entries`` for each of at most ``max_identities``: one key's thousand
    waits evict only its own entries (issue 18).
    """

    def __init__(
        self, clock: Clock, *, max_entries: int = 1024, forget_after: float = 1800.0, max_identities: int = 64
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._max_identities = max_identities
        self._forget_after = forget_after
        self._entries: OrderedDict[str, OrderedDict[str, tuple[int, float]]] = OrderedDict()

    def resume(self, task_id: str, *, identity: str = "") -> int:
        entries = self._entries.get(identity)
        entry = entries.get(task_id) if entries is not None else None
        if entry is None or self._clock.now() - entry[1] > self._forget_after:
            return 0
        return entry[0]

    def remember(self, task_id: str, attempt: int, *, identity: str = "") -> None:
        entries = self._entries.get(identity)
        if entries is None:
            entries = self._entries[identity] = OrderedDict()
            while len(self._entries) > self._max_identities:
                self._entries.popitem(last=False)
        self._entries.move_to_end(identity)
        entries[task_id] = (attempt, self._clock.now())
        entries.move_to_end(task_id)
        while len(entries) > self._max_entries:
            entries.popitem(last=False)

    def forget(self, task_id: str, *, identity: str = "") -> None:
        entries = self._entries.get(identity)
        if entries is not None:
            entries.pop(task_id, None)
            if not entries:
                del self._entries[identity]
