"""Who owns a session (issue 18, point 1): a Streamable HTTP or SSE session answers only the one who opened it.

With key passthrough one server serves many people, each with their own Mixpeek key, often behind one shared
bearer token. A session id alone must not let someone else read that session's notifications or call tools
inside it. The SDK already refuses a request whose ``scope["user"]`` differs from the session creator's ("as if
the session did not exist": 404 on Streamable HTTP), but only for OAuth users. Here every request to the MCP
endpoints gets such a user: a hash of the bearer token it presented and, with passthrough on, of its
``X-Mixpeek-Api-Key`` and ``X-Mixpeek-Namespace``. Nothing of the key itself is kept.

The SDK logs session ids (at INFO, DEBUG and in its "credential does not match" warning); a session id is a
bearer credential of its own, so :class:`SessionIdLogFilter` masks anything shaped like one in those loggers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Final

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.datastructures import Headers
from starlette.types import Scope

OWNER_SCHEME: Final = "mixpeek-owner"
PASSTHROUGH_HEADERS: Final = ("x-mixpeek-api-key", "x-mixpeek-namespace")
SDK_LOGGERS_WITH_SESSION_IDS: Final = (
    "mcp.server.streamable_http_manager",
    "mcp.server.streamable_http",
    "mcp.server._streamable_http_modern",
    "mcp.server.sse",
    "mcp.server.runner",
    "mcp.server.connection",
    "mcp.server.context",
    "mcp.server.lowlevel.server",
    "mcp.server.mcpserver.server",
    "mcp.shared.jsonrpc_dispatcher",
)
"""The SDK modules (mcp 2.3) whose log lines may carry a session id."""
_SESSION_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", re.ASCII)
MASK: Final = "<session>"


def owner_of(headers: Headers, *, passthrough: bool) -> str:
    """A stable, key-free fingerprint of who sends this request (the bearer token, plus the passthrough key)."""
    parts = [headers.get("authorization", "").strip()]
    if passthrough:
        parts += [headers.get(name, "").strip() for name in PASSTHROUGH_HEADERS]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def bind_owner(scope: Scope, *, passthrough: bool) -> None:
    """Mark the request with its sender, so the SDK compares it with the sender that opened the session."""
    owner = owner_of(Headers(scope=scope), passthrough=passthrough)
    scope["user"] = AuthenticatedUser(AccessToken(token=OWNER_SCHEME, client_id=owner, scopes=[]))


class SessionIdLogFilter(logging.Filter):
    """Masks anything shaped like a session id (a UUID, with or without dashes) in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit: leave it to the handler
            return True
        cleaned = _SESSION_ID.sub(MASK, message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


SESSION_ID_LOG_FILTER: Final = SessionIdLogFilter()


def keep_session_ids_out_of_logs() -> None:
    """Install the filter on every SDK logger that prints session ids (idempotent)."""
    for name in SDK_LOGGERS_WITH_SESSION_IDS:
        target = logging.getLogger(name)
        if SESSION_ID_LOG_FILTER not in target.filters:
            target.addFilter(SESSION_ID_LOG_FILTER)
