"""Where metrics (issue 21) hear about the budget: waits (count, seconds), learned limits, 429s per key.

Each hook gets the key's fingerprint (a hash prefix, never the key). A hook that raises is logged and ignored:
metrics never break a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from .context import Priority

logger = logging.getLogger(__name__)

OnWait = Callable[[str, Priority, float], None]
OnLearned = Callable[[str, float, str], None]
"""(fingerprint, requests per minute, source: headers / adaptive)."""
OnThrottled = Callable[[str], None]


@dataclass
class BudgetHooks:
    on_wait: list[OnWait] = field(default_factory=list)
    on_learned: list[OnLearned] = field(default_factory=list)
    on_throttled: list[OnThrottled] = field(default_factory=list)

    def waited(self, fingerprint: str, priority: Priority, seconds: float) -> None:
        for hook in self.on_wait:
            _safely(hook, fingerprint, priority, seconds)

    def learned(self, fingerprint: str, per_minute: float, source: str) -> None:
        for hook in self.on_learned:
            _safely(hook, fingerprint, per_minute, source)

    def throttled(self, fingerprint: str) -> None:
        for hook in self.on_throttled:
            _safely(hook, fingerprint)


def _safely(hook: Callable[..., None], *args: object) -> None:
    try:
        hook(*args)
    except Exception:  # a metrics hook must never fail a request
        logger.warning("a budget hook failed", exc_info=True)
