"""SSE and Streamable HTTP transports: DNS-rebinding protection, a bearer token, health checks, uvicorn."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import anyio
import httpx2
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mixpeek_tasks_mcp.settings import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

logger = logging.getLogger(__name__)

MCP_PATH: Final = "/mcp"
SSE_PATH: Final = "/sse"
MESSAGES_PATH: Final = "/messages/"
HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
HTTP_TRANSPORTS: Final = frozenset({"sse", "streamable-http"})

READY_CACHE_SECONDS: Final = 5.0
READY_PROBE_TIMEOUT: Final = 2.0
_LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost", "[::1]")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1); false for 0.0.0.0, :: and names."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_for_header(host: str) -> str:
    """The bind host as it appears in a Host header (IPv6 literals in brackets)."""
    name = host.strip().strip("[]")
    return f"[{name}]" if ":" in name else name


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("0.0.0.0", "::", "")


def check_http_settings(settings: Settings) -> None:
    """Refuse settings that would start an unsafe or unusable HTTP server (raises ValueError)."""
    if settings.transport not in HTTP_TRANSPORTS:
        raise ValueError(
            f"transport {settings.transport!r} is not an HTTP transport (use sse or streamable-http)"
        )
    if not settings.host.strip():
        raise ValueError("host must not be empty (use 127.0.0.1 for this machine only)")
    token = settings.mcp_auth_token.get_secret_value() if settings.mcp_auth_token else ""
    if not is_loopback_host(settings.host) and not token:
        raise ValueError(
            f"refusing to bind {settings.host!r} without an access token: a non-loopback address is "
            "reachable from other machines. Set MIXPEEK_MCP_AUTH_TOKEN (or --auth-token) to a long "
            "random secret, "
            "or bind 127.0.0.1."
        )
    for value in settings.allowed_hosts:
        if not value or "/" in value or value != value.strip():
            raise ValueError(
                f"allowed_hosts entry {value!r} must be a Host header value such as 'mcp.example.com:*'"
            )
    for value in settings.allowed_origins:
        if not value.startswith(("http://", "https://")) or value.endswith("/"):
            raise ValueError(
                f"allowed_origins entry {value!r} must be an origin such as 'https://app.example.com'"
            )


def transport_security_for(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: loopback names, the bind address, plus the configured extras."""
    hosts: list[str] = []
    origins: list[str] = []
    names = list(_LOOPBACK_NAMES)
    if not _is_wildcard(settings.host) and _host_for_header(settings.host) not in names:
        names.append(_host_for_header(settings.host))
    for name in names:
        hosts += [name, f"{name}:{settings.port}", f"{name}:*"]
        origins += [f"http://{name}", f"http://{name}:{settings.port}", f"http://{name}:*"]
    hosts += settings.allowed_hosts
    origins += settings.allowed_origins
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


class McpGuard:
    """ASGI middleware before the MCP endpoints: Host/Origin check (421/403), then the bearer token (401)."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings, token: str | None) -> None:
        self.app = app
        self.security = TransportSecurityMiddleware(security)
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = await self.security.validate_request(request, is_post=False)
        if refused is None and self.token is not None:
            refused = self._check_token(request.headers.get("authorization"))
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check_token(self, header: str | None) -> Response | None:
        assert self.token is not None
        scheme, _, presented = (header or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self.token):
            return None
        if header:
            challenge = 'Bearer realm="mcp", error="invalid_token"'
            body = {"error": "invalid_token", "error_description": "The bearer token is not valid."}
        else:
            challenge = 'Bearer realm="mcp"'
            body = {"error": "unauthorized", "error_description": "Send Authorization: Bearer <token>."}
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


@dataclass
class _Verdict:
    ready: bool
    body: dict[str, Any]
    at: float


class ReadinessProbe:
    """Answers /readyz: configuration valid and API base reachable, the result cached for a few seconds."""

    def __init__(
        self,
        settings: Settings,
        cache_seconds: float = READY_CACHE_SECONDS,
        timeout: float = READY_PROBE_TIMEOUT,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.transport = transport
        self._verdict: _Verdict | None = None
        self._lock = anyio.Lock()

    async def check(self) -> _Verdict:
        """The cached verdict, refreshed by one probe when stale (concurrent callers share the probe)."""
        async with self._lock:
            now = time.monotonic()
            if self._verdict is None or now - self._verdict.at >= self.cache_seconds:
                self._verdict = await self._probe()
            return self._verdict

    async def _probe(self) -> _Verdict:
        now = time.monotonic()
        has_key = self.settings.api_key is not None and bool(self.settings.api_key.get_secret_value())
        if not has_key and not self.settings.allow_key_passthrough:
            reason = "no Mixpeek API key configured (MIXPEEK_API_KEY) and key passthrough disabled"
            return _Verdict(False, {"status": "not ready", "reason": reason}, now)
        url = self.settings.api_base + "/"
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.get(url)
        except httpx2.HTTPError as exc:
            reason = f"API base unreachable ({type(exc).__name__})"
            return _Verdict(False, {"status": "not ready", "reason": reason}, now)
        body = {
            "status": "ready",
            "api_base_status": response.status_code,
            "key_passthrough": bool(self.settings.allow_key_passthrough),
        }
        return _Verdict(True, body, now)


def _health_routes(probe: ReadinessProbe) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        verdict = await probe.check()
        return JSONResponse(verdict.body, status_code=200 if verdict.ready else 503)

    return [
        Route(HEALTH_PATH, healthz, methods=["GET", "HEAD"]),
        Route(READY_PATH, readyz, methods=["GET", "HEAD"]),
    ]


def _mcp_app(settings: Settings, server: MCPServer[Any], security: TransportSecuritySettings) -> Starlette:
    if settings.transport == "sse":
        return server.sse_app(
            sse_path=SSE_PATH, message_path=MESSAGES_PATH, transport_security=security, host=settings.host
        )
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,
        stateless_http=settings.stateless_http,
        transport_security=security,
        host=settings.host,
    )


def build_http_app(settings: Settings, server: MCPServer[Any] | None = None) -> Starlette:
    """The ASGI app for ``settings.transport``: /mcp (or /sse + /messages/), plus /healthz and /readyz."""
    check_http_settings(settings)
    if server is None:
        from mixpeek_tasks_mcp.server import build_server

        server = build_server(settings)
    security = transport_security_for(settings)
    token = settings.mcp_auth_token.get_secret_value() if settings.mcp_auth_token else None
    inner = _mcp_app(settings, server, security)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner.router.lifespan_context(inner):
            yield

    routes: list[Route | Mount] = [*_health_routes(ReadinessProbe(settings))]
    routes.append(Mount("", app=McpGuard(inner, security, token)))
    return Starlette(routes=routes, lifespan=lifespan)


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn logs to stderr only; no access log (its lines carry query strings such as session ids)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def uvicorn_config(settings: Settings, app: ASGIApp) -> Any:
    """The uvicorn.Config that run_http uses (exposed for tests that serve in a thread)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host.strip().strip("[]"),
        port=settings.port,
        log_config=_log_config(settings.log_level),
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        lifespan="on",
    )


def run_http(settings: Settings, server: MCPServer[Any] | None = None) -> None:
    """Serve the HTTP transport until SIGINT/SIGTERM; in-flight calls get shutdown_grace_seconds to finish."""
    import uvicorn

    app = build_http_app(settings, server)
    if _is_wildcard(settings.host) and not settings.allowed_hosts:
        logger.warning(
            "bound to %s with no MIXPEEK_ALLOWED_HOSTS: only localhost Host headers are accepted, so remote "
            "clients get 421; list the names clients use (for example mcp.example.com:*)",
            settings.host,
        )
    path = f"{SSE_PATH} (messages at {MESSAGES_PATH})" if settings.transport == "sse" else MCP_PATH
    logger.info(
        "serving MCP over %s at http://%s:%s%s (auth token %s)",
        settings.transport,
        _host_for_header(settings.host),
        settings.port,
        path,
        "required" if settings.mcp_auth_token else "not set",
    )
    uvicorn.Server(uvicorn_config(settings, app)).run()
