"""Legacy subscriptions end soon after their client has gone (issue 18, point 4).

A 2025-era Streamable HTTP session hears its ``notifications/resources/updated`` on its GET stream. When every
TCP connection of a session drops without a DELETE, the SDK keeps the session (and its subscriptions, each
polling Mixpeek) for the whole idle timeout, 30 minutes by default: 10,000 abandoned subscriptions kept
polling at 231 rpm. Here, once the last request of a session that follows tasks has closed (its GET stream
included), the session's idle deadline is brought forward to ``SUBSCRIBER_LINGER_SECONDS``: unless the client
comes back by then (any request suspends the countdown, as the SDK does), the session ends, its watches with
it, and its id answers 404 (so a returning client initializes again and re-subscribes). Sessions without
subscriptions keep the ordinary idle timeout.

Like sessions.py this reaches into the SDK's session manager (``_admit_session``) and transport (its idle scope
and request count); tests/http/test_tenancy_subscribers_gone.py guards it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import anyio
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

logger = logging.getLogger(__name__)

SUBSCRIBER_LINGER_SECONDS: Final = 25.0
"""How long a session that follows tasks outlives its last stream (then its subscriptions stop: within 30 s,
with the last poll in flight)."""


class SubscriberLinger:
    """Installs itself on ``manager``: each new session's transport ends early once nobody is left to listen."""

    def __init__(
        self,
        manager: StreamableHTTPSessionManager,
        has_subscriptions: Callable[[str], bool],
        linger: float = SUBSCRIBER_LINGER_SECONDS,
    ) -> None:
        self.linger = linger
        self.has_subscriptions = has_subscriptions
        self.shortened = 0
        admit = manager._admit_session

        def admit_watched(requestor: Any) -> StreamableHTTPServerTransport | None:
            transport = admit(requestor)
            if transport is not None:
                self._watch(transport)
            return transport

        manager._admit_session = admit_watched  # type: ignore[method-assign]

    def _watch(self, transport: StreamableHTTPServerTransport) -> None:
        handle = transport.handle_request

        async def handle_then_check(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await handle(scope, receive, send)
            finally:
                self._shorten_if_abandoned(transport)

        transport.handle_request = handle_then_check  # type: ignore[method-assign]

    def _shorten_if_abandoned(self, transport: StreamableHTTPServerTransport) -> None:
        scope, session_id = transport.idle_scope, transport.mcp_session_id
        if scope is None or scope.cancel_called or transport._requests_in_flight or session_id is None:
            return
        if not self.has_subscriptions(session_id):
            return
        deadline = anyio.current_time() + self.linger
        if deadline < scope.deadline:
            scope.deadline = deadline
            self.shortened += 1
            logger.debug(
                "a session that follows tasks has no open stream; it ends in %.0f s unless its client comes back",
                self.linger,
            )
