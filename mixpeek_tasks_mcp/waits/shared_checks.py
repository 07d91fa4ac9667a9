"""One task's GET, answered by another replica's observation when the replicas share a Redis.

The poller asks ``get_one`` instead of the client: without sharing it is the GET itself; with it
(``Poller.shared``, shared/observations.py, set only when MIXPEEK_REDIS_URL is) a result another replica got
within half the step this task waited answers the check, and only when there is none does this replica poll.
Redis-free: the seam is a protocol, so the poller imports nothing of shared/ at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from ..models import TaskResponse

if TYPE_CHECKING:
    from ..budget import RequestContext
    from .poller import Entry, Poller


class SharedChecks(Protocol):
    async def check(
        self, identity: str, task_id: str, tolerance: float, fetch: Callable[[], Awaitable[TaskResponse]]
    ) -> TaskResponse: ...


async def get_one(poller: Poller, entry: Entry, context: RequestContext) -> tuple[TaskResponse, int]:
    """The task, and how many requests this replica sent for it (0 when another replica's result answered).
    The client's errors (MixpeekError, RequestDropped) are raised as they are: only a sent request raises them."""
    sent = 0

    async def fetch() -> TaskResponse:
        nonlocal sent
        sent = 1
        return await poller.client.get_task(
            entry.task_id, credentials=entry.credentials, deadline=poller._deadline([entry]), context=context
        )

    if poller.shared is None:
        return await fetch(), 1
    waited = poller.clock.now() - entry.last.at if entry.last is not None else 0.0
    task = await poller.shared.check(entry.credentials.identity, entry.task_id, waited / 2, fetch)
    return task, sent
