"""One connection manager for the Redis (or Valkey) the replicas share.

Why it exists: Redis is an optimisation, never a dependency. Every operation goes through ``RedisLink.run``,
which gives it at most ``timeout`` seconds (redis-py's own socket timeouts plus an anyio deadline around the
whole call, retries off), and turns any failure into ``SharedUnavailable``, which each caller answers by
using its per-process state. After a failure the link is *down*: calls fail at once (no socket touched,
nothing blocked) while ``supervise`` pings with exponential backoff; the first PING that answers makes it *up*
again and sharing resumes. One warning is logged per outage, one info line when it ends; the URL (which
may hold a password) is never logged.

redis-py's asyncio client (``redis.asyncio``) speaks RESP to Redis and Valkey alike, has ``rediss://`` TLS
and Lua scripts, and is maintained by Redis itself; it is imported here only, and this module only when
``MIXPEEK_REDIS_URL`` is set.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import anyio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..observability import hooks as observe
from .status import set_status

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY_SECONDS: Final = 0.5
MAX_RETRY_SECONDS: Final = 30.0
"""Reconnection backoff: 0.5 s, doubling, at most 30 s between PINGs while Redis is down."""
CHECK_SECONDS: Final = 5.0
"""While up, a PING this often keeps /healthz true even when no call touches Redis."""


class SharedUnavailable(Exception):
    """Redis did not answer in time (or is known to be down): use this replica's own state."""


class RedisLink:
    """The shared Redis connection pool, its health, and the replica's id (see the module docstring)."""

    def __init__(self, url: str, *, password: str | None, timeout: float, prefix: str) -> None:
        self.timeout = timeout
        self.prefix = prefix
        self.replica = uuid.uuid4().hex[:12]
        """Tells this replica's own pub/sub messages from the others'."""
        self.client: Redis = Redis.from_url(
            url,
            password=password or None,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
            decode_responses=True,
        )
        self.up = False
        self._warned = False
        self._retry_in = FIRST_RETRY_SECONDS
        self._wake = anyio.Event()
        set_status("down")

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def run(self, operation: Callable[[Redis], Awaitable[T]], name: str = "call") -> T:
        """``operation(client)`` within the timeout; SharedUnavailable if Redis is down or fails now. ``name``
        labels a failure in the metrics (``mixpeek_redis_errors``)."""
        if not self.up:
            raise SharedUnavailable
        try:
            with anyio.fail_after(self.timeout):
                return await operation(self.client)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:  # any Redis fault means: carry on without it
            observe.redis_error(name)
            self.mark_down(exc)
            raise SharedUnavailable from None

    def mark_down(self, exc: BaseException) -> None:
        if self.up or not self._warned:
            logger.warning(
                "Redis is unreachable (%s): this replica serves on its own state and reconnects with backoff",
                type(exc).__name__,
            )
            self._warned = True
        if self.up:
            self._retry_in = FIRST_RETRY_SECONDS
        self.up = False
        set_status("down")
        observe.redis_state(False)
        self._wake.set()

    def _mark_up(self) -> None:
        if not self.up and self._warned:
            logger.warning("Redis is reachable again: sharing with the other replicas resumes")
        self.up = True
        self._warned = False
        self._retry_in = FIRST_RETRY_SECONDS
        set_status("up")
        observe.redis_state(True)

    async def ping(self) -> bool:
        """One PING within the timeout; updates the link's state either way."""
        try:
            with anyio.fail_after(self.timeout):
                await self.client.ping()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            self.mark_down(exc)
            return False
        self._mark_up()
        return True

    async def supervise(self) -> None:
        """Forever: PING every CHECK_SECONDS while up, with backoff while down. Run as a background task."""
        while True:
            if self.up:
                self._wake = anyio.Event()
                with anyio.move_on_after(CHECK_SECONDS):
                    await self._wake.wait()
                if self.up:
                    await self.ping()
                    continue
            await anyio.sleep(self._retry_in)  # down: the next PING after the backoff step
            await self._drop_connections()
            if not await self.ping():
                self._retry_in = min(self._retry_in * 2, MAX_RETRY_SECONDS)

    async def _drop_connections(self) -> None:
        """Forget every pooled connection: after an outage they are dead, and with retries off each would cost a
        failed call (and another outage) before the pool noticed."""
        with anyio.move_on_after(self.timeout), contextlib.suppress(Exception):
            await self.client.connection_pool.disconnect()

    async def aclose(self) -> None:
        set_status("off")
        with anyio.move_on_after(self.timeout, shield=True), contextlib.suppress(Exception):  # a dead pool too
            await self.client.aclose()


def script(link: RedisLink, source: str, name: str) -> Callable[[list[str], list[Any]], Awaitable[Any]]:
    """A Lua script run by EVALSHA (loaded once per Redis server, re-sent by redis-py after a restart)."""
    registered = link.client.register_script(source)

    async def call(keys: list[str], args: list[Any]) -> Any:
        return await link.run(lambda client: registered(keys=keys, args=args, client=client), name)

    return call
