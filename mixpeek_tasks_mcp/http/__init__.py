"""SSE and Streamable HTTP transports: safe defaults, health checks, graceful shutdown."""

from mixpeek_tasks_mcp.http.app import build_http_app, make_uvicorn_server, run_http
from mixpeek_tasks_mcp.http.security import check_http_settings, is_loopback_host, transport_security_for

__all__ = [
    "build_http_app",
    "check_http_settings",
    "is_loopback_host",
    "make_uvicorn_server",
    "run_http",
    "transport_security_for",
]
