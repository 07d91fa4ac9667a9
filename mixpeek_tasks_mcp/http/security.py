"""Start-up checks, DNS-rebinding settings and the bearer-token guard in front of the MCP endpoints."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Final

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mixpeek_tasks_mcp.settings import Settings

HTTP_TRANSPORTS: Final = frozenset({"sse", "streamable-http"})
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


def is_wildcard_host(host: str) -> bool:
    """True for the all-interfaces addresses 0.0.0.0 and ::."""
    return host.strip().strip("[]") in ("0.0.0.0", "::")


def host_for_header(host: str) -> str:
    """The bind host as it appears in a Host header (IPv6 literals in brackets)."""
    name = host.strip().strip("[]")
    return f"[{name}]" if ":" in name else name


def auth_token(settings: Settings) -> str | None:
    """The configured MCP access token, or None."""
    token = settings.mcp_auth_token.get_secret_value() if settings.mcp_auth_token else ""
    return token or None


def check_http_settings(settings: Settings) -> None:
    """Refuse settings that would start an unsafe or unusable HTTP server (raises ValueError)."""
    if settings.transport not in HTTP_TRANSPORTS:
        raise ValueError(f"transport {settings.transport!r} is not an HTTP transport (sse or streamable-http)")
    if not settings.host.strip():
        raise ValueError("host must not be empty (use 127.0.0.1 for this machine only)")
    if not is_loopback_host(settings.host) and auth_token(settings) is None:
        raise ValueError(
            f"refusing to bind {settings.host!r} without an access token: a non-loopback address is "
            "reachable from other machines. Set MIXPEEK_MCP_AUTH_TOKEN (or --auth-token) to a long "
            "random secret, or bind 127.0.0.1."
        )
    if settings.metrics_port and settings.metrics_port == settings.port:
        raise ValueError(
            f"metrics_port {settings.metrics_port} is the MCP port; leave it unset to serve /metrics there"
        )
    for value in settings.allowed_hosts:
        if not value or "/" in value or value != value.strip():
            raise ValueError(f"allowed_hosts entry {value!r} must be a Host value such as 'mcp.example.com:*'")
    for value in settings.allowed_origins:
        if not value.startswith(("http://", "https://")) or value.endswith("/"):
            raise ValueError(f"allowed_origins entry {value!r} must be an origin such as 'https://app.example.com'")


def transport_security_for(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: loopback names, the bind address, plus the configured extras."""
    names = list(_LOOPBACK_NAMES)
    if not is_wildcard_host(settings.host) and host_for_header(settings.host) not in names:
        names.append(host_for_header(settings.host))
    hosts: list[str] = []
    origins: list[str] = []
    for name in names:
        hosts += [name, f"{name}:{settings.port}", f"{name}:*"]
        origins += [f"http://{name}", f"http://{name}:{settings.port}", f"http://{name}:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys([*hosts, *settings.allowed_hosts])),
        allowed_origins=list(dict.fromkeys([*origins, *settings.allowed_origins])),
    )


def unauthorized(invalid: bool) -> Response:
    """401 with a JSON body and an RFC 6750 ``WWW-Authenticate: Bearer`` challenge."""
    if invalid:
        challenge = 'Bearer realm="mcp", error="invalid_token"'
        body = {"error": "invalid_token", "error_description": "The bearer token is not valid."}
    else:
        challenge = 'Bearer realm="mcp"'
        body = {"error": "unauthorized", "error_description": "Send Authorization: Bearer <token>."}
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


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
            refused = self.check_token(request.headers.get("authorization"))
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def check_token(self, header: str | None) -> Response | None:
        """None when ``header`` carries the token (compared in constant time), else the 401 to send."""
        assert self.token is not None
        scheme, _, presented = (header or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self.token):
            return None
        return unauthorized(invalid=bool(header))
