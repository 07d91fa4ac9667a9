"""``/metrics`` on the HTTP transports: on the MCP port behind the bearer token (the default), or on its own
port without it (``MIXPEEK_METRICS_PORT``).

Why both, and why this default: on the MCP port the route is guarded exactly like ``/mcp`` (Host check, then
the token), so turning metrics on exposes nothing new to anyone without the token, and one port stays one
port. But Prometheus' pod-annotation discovery cannot send a per-target token and scrapes by pod IP (a Host
the DNS-rebinding check refuses), so on Kubernetes a separate port fits: it is left out of the Service and the
NetworkPolicy admits only the monitoring namespace to it. The figures hold no key, token, session id or API
text (labels.py), so a scrape network is an acceptable reader.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from mcp.server.transport_security import TransportSecuritySettings
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_wsgi_server
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..http.security import McpGuard, host_for_header
from ..settings import Settings
from .metrics import Metrics

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"


def _metrics_app(metrics: Metrics) -> ASGIApp:
    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        response = Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
        await response(scope, receive, send)

    return serve


def metrics_routes(
    settings: Settings, metrics: Metrics, security: TransportSecuritySettings, token: str | None
) -> list[BaseRoute]:
    """``/metrics`` on the MCP port, guarded like ``/mcp``; nothing when it has a port of its own."""
    if settings.metrics_port is not None:
        return []
    return [Route(METRICS_PATH, McpGuard(_metrics_app(metrics), security, token), methods=["GET", "HEAD"])]


@contextlib.asynccontextmanager
async def separate_port(settings: Settings, metrics: Metrics) -> AsyncIterator[None]:
    """While the app runs, serve ``/metrics`` (no token) on ``metrics_port`` when one is set."""
    if settings.metrics_port is None:
        yield
        return
    host = settings.host.strip().strip("[]")
    server, thread = start_wsgi_server(settings.metrics_port, addr=host, registry=metrics.registry)
    port = server.server_address[1]
    logger.warning("metrics on http://%s:%s%s (no token)", host_for_header(settings.host), port, METRICS_PATH)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class OpenStreams:
    """ASGI middleware counting open GET requests to the MCP app (SSE streams, Streamable HTTP GET streams)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.gauge = metrics.http_streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        self.gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.dec()
