"""/healthz (alive; with MIXPEEK_REDIS_URL also ``redis: up|down``) and /readyz (configuration valid and API
base reachable, cached briefly)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import httpx2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.shared.status import redis_status

HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
READY_CACHE_SECONDS: Final = 5.0
READY_PROBE_TIMEOUT: Final = 2.0


@dataclass
class Verdict:
    """One readiness answer and when it was found."""

    ready: bool
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class ReadinessProbe:
    """Answers /readyz; one cheap unauthenticated GET of the API base, the verdict cached for a few seconds."""

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
        self._verdict: Verdict | None = None
        self._lock = anyio.Lock()

    async def check(self) -> Verdict:
        """The cached verdict, refreshed by one probe when stale (concurrent callers share that probe)."""
        async with self._lock:
            if self._verdict is None or time.monotonic() - self._verdict.at >= self.cache_seconds:
                self._verdict = await self._probe()
            return self._verdict

    def _config_problem(self) -> str | None:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        if not key and not self.settings.allow_key_passthrough:
            return "no Mixpeek API key configured (MIXPEEK_API_KEY) and key passthrough is off"
        return None

    async def _probe(self) -> Verdict:
        problem = self._config_problem()
        if problem is not None:
            return Verdict(False, {"status": "not ready", "reason": problem})
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.get(self.settings.api_base + "/")
        except httpx2.HTTPError as exc:
            return Verdict(False, {"status": "not ready", "reason": f"API base unreachable ({type(exc).__name__})"})
        return Verdict(True, {"status": "ready", "api_base_status": response.status_code})


def health_routes(probe: ReadinessProbe) -> list[Route]:
    """The two orchestrator routes; no token and no Host check (probes come from the node, not a browser)."""

    async def healthz(request: Request) -> Response:
        body = {"status": "ok"}
        if (redis := redis_status()) != "off":  # alive either way: a replica serves on its own state without it
            body["redis"] = redis
        return JSONResponse(body)

    async def readyz(request: Request) -> Response:
        verdict = await probe.check()
        return JSONResponse(verdict.body, status_code=200 if verdict.ready else 503)

    return [
        Route(HEALTH_PATH, healthz, methods=["GET", "HEAD"]),
        Route(READY_PATH, readyz, methods=["GET", "HEAD"]),
    ]
