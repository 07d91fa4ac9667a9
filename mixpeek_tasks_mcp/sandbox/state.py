"""Everything one running sandbox holds, shared by the API routes, the admin routes and the runner."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from .batches import BatchBook
from .faults import FaultState
from .ratelimit import KeyLimits, RateLimitSpec
from .requestlog import RequestLog
from .simulator import LiveSimulator, Timeline
from .store import TaskStore


@dataclass
class SandboxState:
    store: TaskStore
    timeline: Timeline
    faults: FaultState
    requests: RequestLog
    api_keys: list[str]
    simulator: LiveSimulator | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    rng_lock: threading.Lock = field(default_factory=threading.Lock)
    limits: KeyLimits = field(default_factory=lambda: KeyLimits(RateLimitSpec()))
    """Per-key rate limits, advertised on every response (ratelimit.py)."""
    timestamps: bool = True
    """Whether /v1 task JSON carries created_at/updated_at (Mixpeek does not document them)."""
    batches: BatchBook = field(init=False)
    """The batches behind the /v1 batch routes, derived from the tasks or made by /_sandbox/batches."""

    def __post_init__(self) -> None:
        self.batches = BatchBook(self.store, self.timeline)
