"""The table of per-key budgets: one per API key, bounded, idle ones forgotten.

Mixpeek's limits are per API key (not per namespace), so two namespaces of one key share a budget and two keys
never do: one key's 429 pauses only that key. A key is held as a hash prefix, never as itself. A budget that
has been idle for ``IDLE_SECONDS`` (nothing queued, nothing in flight) is forgotten, oldest first, and the
table never holds more than ``MAX_KEYS``; a forgotten key starts again conservatively and re-learns its limit
from its first answer.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from ..clock import Clock
from .hooks import BudgetHooks
from .key import BudgetPolicy, KeyBudget, SharedLimiter

MAX_KEYS = 1_024
IDLE_SECONDS = 900.0
"""Longer than any window Mixpeek documents (1 min) many times over: a key that comes back after that has
nothing left in its window anyway."""


def key_fingerprint(api_key: str | None) -> str:
    return hashlib.sha256((api_key or "").encode()).hexdigest()[:16]


class KeyBudgets:
    """``for_key(api_key)`` is that key's budget, made on first use."""

    def __init__(
        self,
        policy: BudgetPolicy,
        clock: Clock,
        *,
        hooks: BudgetHooks | None = None,
        shared: SharedLimiter | None = None,
        max_keys: int = MAX_KEYS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.policy = policy
        self.hooks = hooks or BudgetHooks()
        self.shared = shared
        self._clock = clock
        self._budgets: OrderedDict[str, KeyBudget] = OrderedDict()
        self._max_keys = max_keys
        self._idle_seconds = idle_seconds
        self.forgotten = 0
        self._forgotten_granted = 0

    def __len__(self) -> int:
        return len(self._budgets)

    def for_key(self, api_key: str | None) -> KeyBudget:
        fingerprint = key_fingerprint(api_key)
        budget = self._budgets.get(fingerprint)
        if budget is None:
            self._forget_idle()
            budget = KeyBudget(fingerprint, self.policy, self._clock, hooks=self.hooks, shared=self.shared)
            self._budgets[fingerprint] = budget
        self._budgets.move_to_end(fingerprint)
        return budget

    def get(self, api_key: str | None) -> KeyBudget | None:
        """The key's budget if it has one (tests, the bench, metrics), without making one."""
        return self._budgets.get(key_fingerprint(api_key))

    @property
    def granted(self) -> int:
        """Requests granted over the process's life, forgotten keys included."""
        return self._forgotten_granted + sum(budget.granted for budget in self._budgets.values())

    def snapshot(self) -> list[dict[str, object]]:
        """Each known key's budget by fingerprint (for metrics and health pages; never the key)."""
        return [
            {
                "key": fingerprint,
                "per_minute": budget.per_minute,
                "source": budget.source,
                "queued": budget.queued,
                "in_flight": budget.in_flight,
                "granted": budget.granted,
                "waits": budget.waits,
                "waited_seconds": round(budget.waited_seconds, 3),
                "throttled": budget.throttled,
                "dropped": budget.dropped,
                "paused_for": round(budget.paused_for(), 3),
            }
            for fingerprint, budget in self._budgets.items()
        ]

    def _forget_idle(self) -> None:
        now = self._clock.now()
        for fingerprint, budget in list(self._budgets.items()):  # oldest use first
            crowded = len(self._budgets) >= self._max_keys
            if not crowded and now - budget.last_used < self._idle_seconds:
                break
            if budget.idle:
                del self._budgets[fingerprint]
                self.forgotten += 1
                self._forgotten_granted += budget.granted
