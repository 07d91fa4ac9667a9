"""Connection limits uvicorn lacks (issue 13, defect 14): a deadline for each request to arrive, and a cap on
open connections.

uvicorn closes a connection that idles *between* requests (``timeout_keep_alive``), but not one that trickles
its request in (slowloris): each such connection holds a file descriptor for as long as the client likes, and
no token is needed to open one. Here every request (headers and body) must have fully arrived within
``http_header_timeout`` seconds of its first byte (or of the connection opening); otherwise the connection is
closed. And once ``http_max_connections`` connections are open, a new one gets an immediate 503 with
``Connection: close`` before anything is read from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT: Final = 10.0
DEFAULT_MAX_CONNECTIONS: Final = 1_000
WARN_EVERY_SECONDS: Final = 10.0
"""A flood must not flood the log too: one warning of each kind per this many seconds."""
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 33\r\n"
    b"connection: close\r\nretry-after: 1\r\n\r\nToo many open connections; retry.\n"
)
_WAITING_FOR_REQUEST = (h11.IDLE, h11.SEND_BODY)


class _Warnings:
    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self.last[kind] = now
            logger.warning(message, *args)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-arrival deadline and a connection cap (class attributes, set by
    ``bounded_protocol``)."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    warnings = _Warnings()
    _request_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.warnings.warn(
                "cap", "refused a connection: %d are open (MIXPEEK_HTTP_MAX_CONNECTIONS)", self.max_connections
            )
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state in _WAITING_FOR_REQUEST:
            self._arm()  # a request has begun (or is still arriving): its deadline runs from its first byte
        else:
            self._disarm()  # the request is complete; the response may take as long as it takes

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._request_deadline is None:
            self._request_deadline = self.loop.call_later(self.header_timeout, self._request_too_slow)

    def _disarm(self) -> None:
        if self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None

    def _request_too_slow(self) -> None:
        self._request_deadline = None
        if self.transport.is_closing() or self.conn.their_state not in _WAITING_FOR_REQUEST:
            return
        if self.conn.their_state is h11.SEND_BODY or self.conn.trailing_data[0]:
            self.warnings.warn(
                "slow", "closed a connection whose request did not arrive within %.0f s", self.header_timeout
            )
        self.transport.close()


def bounded_protocol(header_timeout: float, max_connections: int) -> type[BoundedH11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` with these limits."""

    class Configured(BoundedH11Protocol):
        pass

    Configured.header_timeout = header_timeout
    Configured.max_connections = max_connections
    Configured.warnings = _Warnings()
    return Configured
