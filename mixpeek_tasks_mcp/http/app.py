"""The HTTP app (Streamable HTTP at /mcp or SSE at /sse + /messages/, plus health routes) and its server."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio
import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from mixpeek_tasks_mcp.http.connections import bounded_protocol
from mixpeek_tasks_mcp.http.drain import DrainingServer, InFlightRequests
from mixpeek_tasks_mcp.http.health import ReadinessProbe, health_routes
from mixpeek_tasks_mcp.http.security import (
    McpGuard,
    auth_token,
    check_http_settings,
    host_for_header,
    is_wildcard_host,
    transport_security_for,
)
from mixpeek_tasks_mcp.http.sessions import SessionCap
from mixpeek_tasks_mcp.observability import hooks as observe
from mixpeek_tasks_mcp.observability.config import metrics_wanted
from mixpeek_tasks_mcp.settings import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

logger = logging.getLogger(__name__)

MCP_PATH: Final = "/mcp"
SSE_PATH: Final = "/sse"
MESSAGES_PATH: Final = "/messages/"


def _mcp_app(settings: Settings, server: MCPServer[Any], security: TransportSecuritySettings) -> Starlette:
    if settings.transport == "sse":
        return server.sse_app(
            sse_path=SSE_PATH, message_path=MESSAGES_PATH, transport_security=security, host=settings.host
        )
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,  # SSE responses carry per-call progress
        stateless_http=settings.stateless_http,
        transport_security=security,
        host=settings.host,
        session_idle_timeout=settings.session_idle_timeout,
        max_sessions=settings.max_sessions,
    )
    if not settings.stateless_http:
        app.state.sessions = SessionCap(server.session_manager, settings.max_sessions)
    return app


def _in_flight(server: MCPServer[Any]) -> InFlightRequests:
    for middleware in server.middleware:
        if isinstance(middleware, InFlightRequests):
            return middleware
    tracker = InFlightRequests()
    server.middleware.append(tracker)
    return tracker


def build_http_app(settings: Settings, server: MCPServer[Any] | None = None) -> Starlette:
    """The ASGI app for ``settings.transport``: /mcp (or /sse + /messages/), plus /healthz and /readyz.

    Raises ValueError for unsafe settings (see check_http_settings). ``app.state.in_flight`` counts the MCP
    requests being handled, for graceful shutdown; ``app.state.sessions`` is the Streamable HTTP session cap
    (None for SSE and stateless).
    """
    check_http_settings(settings)
    if server is None:
        from mixpeek_tasks_mcp.server import build_server

        server = build_server(settings)
    security = transport_security_for(settings)
    in_flight = _in_flight(server)
    inner = _mcp_app(settings, server, security)
    routes: list[BaseRoute] = [*health_routes(ReadinessProbe(settings))]
    mcp_app: ASGIApp = inner
    metrics_port: Callable[[], contextlib.AbstractAsyncContextManager[None]] = contextlib.nullcontext
    if metrics_wanted(settings):  # off: prometheus-client is never imported
        from mixpeek_tasks_mcp.observability import endpoint, recorder

        live = recorder.enable(settings)
        if live is not None and live.metrics is not None:
            metrics = live.metrics
            routes += endpoint.metrics_routes(settings, metrics, security, auth_token(settings))
            mcp_app = endpoint.OpenStreams(inner, metrics)
            sessions = getattr(inner.state, "sessions", None)
            if sessions is not None:
                metrics.track_sessions(lambda: sessions.open)
            metrics_port = functools.partial(endpoint.separate_port, settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with inner.router.lifespan_context(inner), metrics_port():
                yield
        finally:
            await anyio.to_thread.run_sync(observe.flush)  # no-op unless traces are on

    routes.append(Mount("", app=McpGuard(mcp_app, security, auth_token(settings))))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.in_flight = in_flight
    app.state.sessions = getattr(inner.state, "sessions", None)
    return app


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn logs to stderr only; no access log (its lines carry query strings such as session ids)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def _banner(settings: Settings) -> str:
    """The start-up line (``%(port)s`` is filled in once bound, so port 0 works)."""
    path = f"{SSE_PATH} (messages at {MESSAGES_PATH})" if settings.transport == "sse" else MCP_PATH
    mode = " stateless" if settings.stateless_http and settings.transport != "sse" else ""
    token = "required" if auth_token(settings) else "not required"
    host = host_for_header(settings.host)
    return f"MCP over {settings.transport}{mode} listening on http://{host}:%(port)s{path}; bearer token {token}"


def make_uvicorn_server(settings: Settings, server: MCPServer[Any] | None = None) -> DrainingServer:
    """A ready-to-run uvicorn server for the HTTP app (``.run()`` blocks; tests may run it in a thread)."""
    app = build_http_app(settings, server)
    config = uvicorn.Config(
        app,
        host=settings.host.strip().strip("[]"),
        port=settings.port,
        log_config=_log_config(settings.log_level),
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        http=bounded_protocol(settings.http_header_timeout, settings.http_max_connections),
    )
    return DrainingServer(config, app.state.in_flight, settings.shutdown_grace_seconds, _banner(settings))


def run_http(settings: Settings, server: MCPServer[Any] | None = None) -> None:
    """Serve the HTTP transport until SIGINT/SIGTERM; in-flight calls get shutdown_grace_seconds to finish.

    Raises ValueError for unsafe settings before binding anything. Logs (stderr, WARNING) the line
    ``MCP over <transport> listening on http://HOST:PORT/PATH; ...`` once bound.
    """
    uvicorn_server = make_uvicorn_server(settings, server)
    if is_wildcard_host(settings.host) and not settings.allowed_hosts:
        logger.warning(
            "bound to %s without MIXPEEK_ALLOWED_HOSTS: only localhost Host headers are accepted, so remote "
            "clients get 421; list the names clients use (for example mcp.example.com:*)",
            settings.host,
        )
    uvicorn_server.run()
