"""A cap on Streamable HTTP sessions that ends the one idle the longest to make room (issue 13, defect 15).

The SDK ends a session after ``session_idle_timeout`` without a request in flight, and refuses new sessions with
503 once ``max_sessions`` are open. Abandoned sessions (~36 KB each) therefore pile up for the whole idle
timeout, and a full server refuses every new client while holding sessions nobody uses. Here, when the cap is
reached, the session idle the longest is ended first: its id answers 404 from then on (as the spec says for an
expired session, so its client initializes again). Sessions with a request in flight (an open GET stream
included) are never ended this way; if every session is busy, the new one gets the SDK's 503.

This reaches into the SDK's session manager (``_admit_session``, ``_server_instances``, the transport's idle
scope): tests/http/test_sessions.py guards it against SDK changes.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

logger = logging.getLogger(__name__)


class SessionCap:
    """Installs itself on ``manager``: before a session is admitted, the oldest idle one ends if it is full."""

    def __init__(self, manager: StreamableHTTPSessionManager, max_sessions: int) -> None:
        self.manager = manager
        self.max_sessions = max_sessions
        self.ended = 0
        admit = manager._admit_session

        def admit_with_room(requestor: Any) -> StreamableHTTPServerTransport | None:
            self._make_room()
            return admit(requestor)

        manager._admit_session = admit_with_room  # type: ignore[method-assign]

    @property
    def open(self) -> int:
        return len(self.manager._server_instances)

    def _make_room(self) -> None:
        sessions = self.manager._server_instances
        while len(sessions) >= self.max_sessions:
            oldest = min(
                (
                    (since, session_id)
                    for session_id, transport in sessions.items()
                    if (since := _idle_since(transport)) is not None
                ),
                default=None,
            )
            if oldest is None:
                return  # every session is busy: the SDK answers 503
            session_id = oldest[1]
            transport = sessions.pop(session_id)  # its id answers 404 from now on
            self.manager._session_owners.pop(session_id, None)
            assert transport.idle_scope is not None
            transport.idle_scope.cancel()  # ends its server task, which terminates the transport
            self.ended += 1
            logger.info("ended the session idle the longest to make room (MIXPEEK_MAX_SESSIONS=%d)", self.max_sessions)


def _idle_since(transport: StreamableHTTPServerTransport) -> float | None:
    """When an idle session expires (the earliest is the one idle the longest); None if it is busy or ending."""
    scope = transport.idle_scope
    if scope is None or scope.cancel_called or transport._requests_in_flight or transport.is_terminated:
        return None
    return scope.deadline
