"""Graceful shutdown: in-flight MCP requests finish (within the grace period) before open streams are closed.

sse-starlette closes every SSE stream as soon as uvicorn receives SIGTERM, which would cut off a tool call
that is still streaming progress. Here its automatic drain is switched off; instead, once no MCP request is
in flight (or the grace period is over), the streams are told to close so that idle SSE sessions and GET
streams do not hold the shutdown open for the whole grace period. A few seconds before the grace period ends,
waits and triages still running are told to answer with what they have (draining.py), so every client gets a
complete response rather than a cut stream.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import uvicorn
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from sse_starlette.sse import AppStatus

from mixpeek_tasks_mcp.draining import DRAIN

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
_FLUSH_SECONDS = 0.2
ANSWER_SECONDS = 3.0
"""How long before the grace period ends waits and triages still running are told to answer (draining.py)."""


def answer_time(grace: float) -> float:
    """The part of the grace period kept for calls still running to answer and be sent (at most half of it)."""
    return min(ANSWER_SECONDS, grace / 2)


class InFlightRequests:
    """MCP server middleware counting requests (not notifications) being handled, on any transport."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:
            return await call_next(ctx)
        self.count += 1
        try:
            return await call_next(ctx)
        finally:
            self.count -= 1

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until nothing is in flight; False when ``seconds`` passed first."""
        deadline = time.monotonic() + seconds
        while self.count > 0:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS)
        return True


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose shutdown lets in-flight MCP requests finish, then closes the SSE streams."""

    def __init__(
        self, config: uvicorn.Config, in_flight: InFlightRequests, grace_seconds: float, banner: str = ""
    ) -> None:
        super().__init__(config)
        self.in_flight = in_flight
        self.grace_seconds = grace_seconds
        self.banner = banner
        self.bound_port: int | None = None
        AppStatus.enable_automatic_graceful_drain = False  # what its untyped disable_...() does

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers and self.servers[0].sockets:
            self.bound_port = int(self.servers[0].sockets[0].getsockname()[1])
            logger.warning(self.banner or "listening on port %(port)s", {"port": self.bound_port})

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        closer = asyncio.ensure_future(self._close_streams_when_idle())
        try:
            await super().shutdown(sockets)
        finally:
            closer.cancel()
            AppStatus.should_exit = False  # process-global: leave it clean for a later server
            DRAIN.reset()

    async def _close_streams_when_idle(self) -> None:
        if self.in_flight.count:
            logger.info("waiting up to %.0f s for %d in-flight request(s)", self.grace_seconds, self.in_flight.count)
        answer_in = answer_time(self.grace_seconds)
        if not await self.in_flight.wait_idle(self.grace_seconds - answer_in):
            # waits and triages still running answer now with what they have (draining.py), in time to be sent
            logger.info("asking %d request(s) still in flight to answer now", self.in_flight.count)
            DRAIN.begin()
            if not await self.in_flight.wait_idle(answer_in):
                logger.warning("grace period over with %d request(s) still in flight", self.in_flight.count)
        await asyncio.sleep(_FLUSH_SECONDS)  # let the last result reach its stream before closing it
        AppStatus.should_exit = True
