"""The request being served, for the handlers the SDK calls without one (fixed resources, completions).

MCPServer hands a Context to tools, templated resources and prompts, but not to a fixed resource's ``read()``
or to a ``@completion()`` handler. ``RequestScope`` (a server middleware, the SDK's public hook) keeps the
current request in a ContextVar so those handlers reach the shared AppState and the caller's credentials
(the HTTP passthrough key included) like the tools do.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context

from .client import Credentials
from .tools import AppState, credentials_for

_current: ContextVar[ServerRequestContext[Any, Any] | None] = ContextVar("mixpeek_request", default=None)


class RequestScope:
    """Server middleware: remembers the request being handled while its handler runs."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = _current.set(ctx)
        try:
            return await call_next(ctx)
        finally:
            _current.reset(token)


def current_request() -> ServerRequestContext[Any, Any]:
    request = _current.get()
    if request is None:  # pragma: no cover - wiring error
        raise RuntimeError("no MCP request is being handled (is RequestScope installed?)")
    return request


def app_state(request: ServerRequestContext[Any, Any]) -> AppState:
    state = request.lifespan_context
    if not isinstance(state, AppState):  # pragma: no cover - wiring error
        raise RuntimeError("server lifespan did not provide AppState")
    return state


def request_credentials(request: ServerRequestContext[Any, Any], state: AppState) -> Credentials:
    """Who this request calls Mixpeek as: the server's key, or the client's passthrough key."""
    return credentials_for(Context(request_context=request), state.settings)
