"""Triage's progress memory shared between replicas, so stuck detection does not depend on which one answers.

Before a triage judges stalls, the replica loads what any replica last saw of each active task (status,
tier, since when) and after judging stores what it now knows: one MGET and one pipelined write of
``progress:<identity>:<task hash>`` keys, each a few dozen bytes with a TTL of ``PROGRESS_TTL``. Times cross
replicas as wall-clock seconds and become this replica's monotonic clock on the way in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from .link import RedisLink, SharedUnavailable

if TYPE_CHECKING:
    from ..triage.stuck import ProgressMemory
    from ..triage.tally import ActiveTask

PROGRESS_TTL: Final = 2 * 3600
"""Seconds a task's last seen state is kept (stalls are judged over 10 min or more)."""
MAX_TASKS: Final = 5_000
"""At most this many active tasks are loaded and stored per triage (the memory's own bound)."""


class SharedProgress:
    def __init__(self, link: RedisLink) -> None:
        self.link = link

    def _key(self, identity: str, task_id: str) -> str:
        return self.link.key("progress", identity, hashlib.sha256(task_id.encode()).hexdigest()[:32])

    async def load_into(self, memory: ProgressMemory, identity: str, active: Sequence[ActiveTask], now: float) -> None:
        """Seed ``memory`` with what any replica last saw of these tasks (nothing changes if Redis is down)."""
        tasks = list(active)[:MAX_TASKS]
        if not tasks:
            return
        keys = [self._key(identity, task.task_id) for task in tasks]
        try:
            values: list[Any] = await self.link.run(lambda client: client.mget(keys), "progress")
        except SharedUnavailable:
            return
        wall = time.time()
        for task, value in zip(tasks, values, strict=False):
            seen = _parse(value)
            if seen is not None:
                status, tier, since_wall = seen
                memory.seed(task.task_id, (status, tier), now - max(0.0, wall - since_wall))

    async def save_from(self, memory: ProgressMemory, identity: str, active: Sequence[ActiveTask], now: float) -> None:
        wall = time.time()
        writes: list[tuple[str, str]] = []
        for task in list(active)[:MAX_TASKS]:
            observation = memory.get(task.task_id)
            if observation is not None:
                status, tier = observation.state
                since_wall = wall - max(0.0, now - observation.since)
                writes.append((self._key(identity, task.task_id), json.dumps([status, tier, round(since_wall, 1)])))
        if not writes:
            return

        async def write(client: Any) -> Any:
            pipe = client.pipeline(transaction=False)
            for key, value in writes:
                pipe.set(key, value, ex=PROGRESS_TTL)
            return await pipe.execute()

        with contextlib.suppress(SharedUnavailable):
            await self.link.run(write, "progress")


def _parse(value: object) -> tuple[str, tuple[int, int] | None, float] | None:
    if not isinstance(value, str) or len(value) > 500:
        return None
    try:
        status, tier, since = json.loads(value)
        parsed_tier = (int(tier[0]), int(tier[1])) if tier else None
        return str(status), parsed_tier, float(since)
    except (ValueError, TypeError, IndexError):
        return None
