"""Task observations shared between replicas: a lease per task and poll step, so one replica polls.

When a replica's poller is due to GET a task, it first asks Redis (one Lua call) for an observation of that
task, by the same key identity, younger than its tolerance (half the step it waited, at least 1 s). If there
is one, that is its check: no request goes to Mixpeek. Otherwise it takes the task's lease (``SET NX PX``)
and polls; the others, finding the lease taken, read the holder's result when it lands (or poll themselves
if it does not land within ``LEASE_WAIT``). The holder stores the task (at most ``MAX_BODY_CHARS`` of JSON,
``OBSERVATION_TTL`` seconds) and, when its status or tier changed, publishes the task's URI on the key's
change topic, so listeners on every replica hear of it (events.py).

Batched ``task_id in [...]`` checks stay per replica (a batch is one request for up to 100 tasks already).
Keys: ``obs:<identity>:<task hash>``, ``lease:<identity>:<task hash>``; the task id is hashed too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import anyio
from pydantic import ValidationError

from ..models import TaskResponse
from ..summary import task_row
from .events import task_change_message, task_topic
from .link import RedisLink, SharedUnavailable, script

logger = logging.getLogger(__name__)

LEASE_SECONDS: Final = 10.0
"""How long a poll's lease holds at most (a poll ends by its request deadline; a dead holder frees it)."""
LEASE_WAIT: Final = 3.0
"""How long a replica waits for the lease holder's result before it polls itself."""
OBSERVATION_TTL: Final = 120.0
MAX_BODY_CHARS: Final = 64_000
"""Larger tasks are polled per replica rather than stored (values in Redis stay small)."""
MIN_TOLERANCE: Final = 1.0

READ_OR_LEASE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0') or 0
if now - at <= tonumber(ARGV[1]) then return {'obs', redis.call('HGET', KEYS[1], 'body')} end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {'lease', ''} end
return {'wait', ''}
"""
"""KEYS: observation, lease. ARGV: tolerance seconds, replica id, lease ms."""

STORE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local previous = redis.call('HGET', KEYS[1], 'state')
redis.call('HSET', KEYS[1], 'at', tostring(now), 'state', ARGV[2], 'body', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2])
if previous and previous ~= ARGV[2] then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
"""
"""KEYS: observation, lease. ARGV: task JSON, state, ttl ms, change channel, change message."""


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class ObservationStats:
    shared_hits: int = 0
    """Checks answered by another replica's observation (no request sent)."""
    leases: int = 0
    fallbacks: int = 0
    """Checks made without Redis (down, too large, or the holder's result never came)."""


class SharedObservations:
    """The poller's window onto other replicas' polls (see the module docstring)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.stats = ObservationStats()
        self._read_or_lease = script(link, READ_OR_LEASE, "observation")
        self._store = script(link, STORE, "observation")

    async def check(
        self, identity: str, task_id: str, tolerance: float, fetch: Callable[[], Awaitable[TaskResponse]]
    ) -> TaskResponse:
        """The task as some replica saw it within ``tolerance`` seconds, or as ``fetch`` sees it now.

        Errors of ``fetch`` are raised as they are (and free the lease for the next replica)."""
        keys = [self.link.key("obs", identity, _hash(task_id)), self.link.key("lease", identity, _hash(task_id))]
        tolerance = max(MIN_TOLERANCE, tolerance)
        waited, pause = 0.0, 0.05
        while True:
            try:
                kind, body = await self._read_or_lease(
                    keys, [repr(tolerance), self.link.replica, str(int(LEASE_SECONDS * 1000))]
                )
            except SharedUnavailable:
                self.stats.fallbacks += 1
                return await fetch()
            if kind == "obs":
                task = _parse(body)
                if task is not None:
                    self.stats.shared_hits += 1
                    return task
                kind = "lease"  # unreadable: poll and overwrite it
            if kind == "lease":
                self.stats.leases += 1
                return await self._poll_and_store(identity, task_id, keys, fetch)
            if waited >= LEASE_WAIT:
                self.stats.fallbacks += 1
                return await fetch()
            await anyio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.4)

    async def _poll_and_store(
        self, identity: str, task_id: str, keys: list[str], fetch: Callable[[], Awaitable[TaskResponse]]
    ) -> TaskResponse:
        try:
            task = await fetch()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release(keys[1])
            raise
        body = task.model_dump_json()
        if len(body) > MAX_BODY_CHARS:
            await self._release(keys[1])
            return task
        state = json.dumps([task.status, task_row(task).tier])
        with contextlib.suppress(SharedUnavailable):
            await self._store(
                keys,
                [
                    body,
                    state,
                    str(int(OBSERVATION_TTL * 1000)),
                    task_topic(self.link, identity),
                    task_change_message(self.link, task_id),
                ],
            )
        return task

    async def _release(self, lease: str) -> None:
        with contextlib.suppress(SharedUnavailable):  # else it expires on its own
            await self.link.run(lambda client: client.delete(lease), "observation")


def _parse(body: object) -> TaskResponse | None:
    if not isinstance(body, str):
        return None
    try:
        return TaskResponse.model_validate_json(body)
    except ValidationError:
        logger.warning("an observation in Redis is not a task; polling instead")
        return None
