"""Builds the shared state from the settings and plugs it into one server's AppState.

Imported by server.py only when ``MIXPEEK_REDIS_URL`` is set, so a server without it loads no Redis client.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from ..settings import Settings
from ..tenancy import PerKey
from ..triage.stuck import ProgressMemory
from .events import EventHub, RedisSubscriptionBus
from .limiter import SharedLimiter
from .link import RedisLink
from .observations import SharedObservations
from .progress import SharedProgress

if TYPE_CHECKING:
    from ..tools import AppState
    from ..waits.poller import Poller


def progress_memories(shared: SharedProgress) -> PerKey[ProgressMemory]:
    """Triage's per-key progress memories, each reading and writing the replicas' common one."""

    def memory() -> ProgressMemory:
        made = ProgressMemory()
        made.shared = shared
        return made

    return PerKey(memory)


class SharedState:
    """The link and everything shared over it, for one server (its bus exists before the server does)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url is not None
        password = settings.redis_password.get_secret_value() if settings.redis_password else None
        self.link = RedisLink(
            settings.redis_url.get_secret_value(),
            password=password,
            timeout=settings.redis_timeout,
            prefix=settings.redis_prefix,
        )
        self.bus = RedisSubscriptionBus(self.link)
        self.limiter = SharedLimiter(self.link)
        self.observations = SharedObservations(self.link)
        self.progress = SharedProgress(self.link)
        self._poller: Poller | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def attach(self, state: AppState) -> None:
        state.poller.shared = self.observations
        state.progress = progress_memories(self.progress)
        if state.client.budgets.shared is None:  # an injected client (tests): before any key's budget exists
            state.client.budgets.shared = self.limiter
        self._poller = state.poller

    def _task_changed(self, identity: str, task_id: str) -> None:
        if self._poller is not None:
            self._poller.poke(identity, task_id)

    async def start(self) -> None:
        """One PING (at most the timeout: a replica whose Redis is away starts anyway), then the background
        supervisor and pub/sub reader."""
        await self.link.ping()
        loop = asyncio.get_running_loop()
        hub = EventHub(self.link, self.bus, self._task_changed)
        self._tasks = [
            loop.create_task(self.link.supervise(), name="mixpeek-redis-supervisor"),
            loop.create_task(hub.run(), name="mixpeek-redis-events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.link.aclose()
