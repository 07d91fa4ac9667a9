"""Public entry points of the HTTP transports (the implementation lives in ``mixpeek_tasks_mcp.http``)."""

from mixpeek_tasks_mcp.http import (
    build_http_app,
    check_http_settings,
    is_loopback_host,
    make_uvicorn_server,
    run_http,
    transport_security_for,
)

__all__ = [
    "build_http_app",
    "check_http_settings",
    "is_loopback_host",
    "make_uvicorn_server",
    "run_http",
    "transport_security_for",
]
