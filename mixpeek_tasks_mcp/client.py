"""Async client for Mixpeek's Tasks API: one shared connection pool, timeouts, retries, clear errors."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import ValidationError

from . import __version__
from .budget import RequestBudget
from .clock import Clock, SystemClock
from .models import ErrorResponse, ListTasksRequest, ListTasksResponse, TaskResponse
from .settings import Settings

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = f"mixpeek-tasks-mcp/{__version__}"
MAX_ERROR_TEXT = 300


@dataclass(frozen=True)
class Credentials:
    """The key and namespace one call is made with (the server's own, or a client's passthrough)."""

    api_key: str | None
    namespace: str | None = None
    key_source: str = "MIXPEEK_API_KEY"

    def __repr__(self) -> str:  # never show the key
        return f"Credentials(api_key={'***' if self.api_key else None}, namespace={self.namespace!r})"


class MixpeekError(Exception):
    """A failure the agent should read: what happened and what to do next."""

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class MissingApiKeyError(MixpeekError):
    pass


class TaskNotFoundError(MixpeekError):
    pass


def redact(text: str, secret: str | None) -> str:
    """Remove a secret from text that came from elsewhere (error bodies may echo what we sent)."""
    if secret and secret in text:
        text = text.replace(secret, "***")
    return text


def _clip(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TasksClient:
    """Talks to ``/v1/tasks``; safe to share across concurrent tool calls."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng
        self._client: httpx2.AsyncClient | None = None
        self.budget = RequestBudget(settings.max_requests_per_minute, burst=settings.request_burst, clock=self._clock)
        """Shared by every request this client makes (list calls, the poller, scans); see budget.py."""

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The shared connection pool, made on first use: building its TLS context costs ~30 ms that the
        server should not spend before answering ``initialize``."""
        if self._client is None:
            settings = self._settings
            self._client = httpx2.AsyncClient(
                base_url=settings.api_base,
                timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def list_tasks(
        self,
        request: ListTasksRequest,
        *,
        credentials: Credentials,
        limit: int,
        offset: int | None = None,
        cursor: str | None = None,
    ) -> ListTasksResponse:
        """``POST /v1/tasks/list``: pagination in the query string, declared keys only in the body."""
        params: dict[str, str] = {"limit": str(limit), "include_total": "true"}
        if cursor is not None:
            params["cursor"] = cursor
        elif offset is not None:
            params["offset"] = str(offset)
        data = await self._request("POST", "/v1/tasks/list", credentials, params=params, json=request.to_body())
        try:
            return ListTasksResponse.model_validate(data)
        except ValidationError as exc:
            raise MixpeekError(
                "Mixpeek answered POST /v1/tasks/list with JSON that is not a task list "
                f"({_shape_problem(exc)}). Nothing is wrong with your call; try again, and if it persists "
                "check MIXPEEK_API_BASE points at the Mixpeek API."
            ) from None

    async def get_task(self, task_id: str, *, credentials: Credentials, deadline: float | None = None) -> TaskResponse:
        """``GET /v1/tasks/{task_id}``; raises TaskNotFoundError on 404."""
        path = f"/v1/tasks/{quote(task_id, safe='')}"
        data = await self._request("GET", path, credentials, deadline=deadline, not_found_is_task=task_id)
        try:
            return TaskResponse.model_validate(data)
        except ValidationError as exc:
            raise MixpeekError(
                f"Mixpeek answered GET {path} with JSON that is not a task ({_shape_problem(exc)}). "
                "Try again; if it persists check MIXPEEK_API_BASE."
            ) from None

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        if not credentials.api_key:
            raise MissingApiKeyError(
                f"No Mixpeek API key is configured: set {credentials.key_source} in the server's environment "
                "(for example in the client config's env block) and restart the server. "
                "To try the server without an account, run `mixpeek-tasks-mcp serve --sandbox`."
            )
        headers = {"Authorization": f"Bearer {credentials.api_key}"}
        if credentials.namespace:
            headers["X-Namespace"] = credentials.namespace
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        deadline: float | None = None,
        not_found_is_task: str | None = None,
    ) -> Any:
        headers = self._headers(credentials)
        max_retries = self._settings.max_retries
        attempt = 0
        server_error_retried = False
        while True:
            attempt += 1
            if not await self.budget.acquire(deadline):
                raise MixpeekError(
                    f"This server's own request budget ({self.budget.describe()}, MIXPEEK_MAX_REQUESTS_PER_MINUTE) "
                    f"has no room for {method} {path} before this call's deadline. Call again in a minute."
                )
            try:
                response = await self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx2.TransportError as exc:
                if attempt <= max_retries and await self._backoff(attempt, None, deadline):
                    logger.warning("%s %s: %s, retrying (attempt %d)", method, path, type(exc).__name__, attempt)
                    continue
                raise MixpeekError(
                    f"Could not reach Mixpeek at {self._settings.api_base} ({type(exc).__name__}) after "
                    f"{attempt} attempt(s). Check the network and MIXPEEK_API_BASE, then call again."
                ) from None
            status = response.status_code
            if status < 400:
                return self._decode(response, method, path)
            error = _parse_error(response)
            retryable = _details_retryable(error)
            if status == 429:
                pause = _retry_after(response, error)
                pause = min(max(pause, 0.0), self._settings.retry_after_cap) if pause is not None else 1.0
                self.budget.pause_until(self._clock.now() + pause)
            if status in RETRYABLE_STATUSES and retryable and attempt <= max_retries:
                if await self._backoff(attempt, _retry_after(response, error), deadline):
                    logger.warning("%s %s: HTTP %d, retrying (attempt %d)", method, path, status, attempt)
                    continue
            elif status >= 500 and retryable and not server_error_retried and attempt <= max_retries:
                server_error_retried = True
                if await self._backoff(attempt, None, deadline):
                    logger.warning("%s %s: HTTP %d, retrying once", method, path, status)
                    continue
            raise self._error_for(status, error, response, method, path, attempt, credentials, not_found_is_task)

    async def _backoff(self, attempt: int, retry_after: float | None, deadline: float | None) -> bool:
        """Sleep before the next attempt; False when that would pass the caller's deadline."""
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), self._settings.retry_after_cap)
        else:
            base = min(0.5 * 2 ** (attempt - 1), 8.0)
            delay = base / 2 + self._rng() * base / 2
        if deadline is not None and self._clock.now() + delay > deadline:
            return False
        await self._clock.sleep(delay)
        return True

    def _decode(self, response: httpx2.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "no content type")
            raise MixpeekError(
                f"Mixpeek answered {method} {path} with HTTP {response.status_code} but the body is not JSON "
                f"({kind}, {len(response.content)} bytes). This is an upstream fault, not your call: "
                "try again shortly; if it persists check MIXPEEK_API_BASE."
            ) from None

    def _error_for(
        self,
        status: int,
        error: ErrorResponse | None,
        response: httpx2.Response,
        method: str,
        path: str,
        attempts: int,
        credentials: Credentials,
        not_found_is_task: str | None,
    ) -> MixpeekError:
        error_type = error.error.type if error else None
        upstream = ""
        if error is not None:
            label = " ".join(part for part in (error.error.type, error.error.code or "") if part)
            text = _clip(redact(error.error.message, credentials.api_key))
            details = _validation_summary(error)
            upstream = f" Mixpeek says: {label + ': ' if label else ''}{text}{details}"
        elif response.content:
            upstream = " (the error body was not Mixpeek's JSON error envelope)"
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        where = f"{method} {path}"
        if status == 404 and not_found_is_task is not None:
            return TaskNotFoundError(
                f"Task {not_found_is_task!r} was not found (HTTP 404). Check the id (copy it from list_tasks). "
                "Mixpeek keeps tasks in its task cache for about 24 hours, so an older task can age out: "
                "look at its parent resource (the batch or cluster) instead.",
                status=status,
                error_type=error_type,
            )
        if status in (401, 403):
            advice = (
                f"The API key was refused: check {credentials.key_source} (a Mixpeek key starts with sk_), "
                "its organization, and for 403 the plan or permissions."
            )
        elif status == 429:
            wait = _retry_after(response, error)
            advice = (
                f"Mixpeek's rate limit was hit{tried}. Wait {f'{wait:.0f} s' if wait else 'a minute'} "
                "before calling again, and poll less often."
            )
        elif status in (400, 422):
            advice = "Mixpeek rejected the request; fix the arguments named above and call again."
        elif status >= 500:
            advice = f"Mixpeek had a server error{tried}. This is not your call's fault: try again in a minute."
        else:
            advice = "Unexpected answer from Mixpeek."
        return MixpeekError(
            f"{where} failed with HTTP {status}.{upstream} {advice}", status=status, error_type=error_type
        )


def _parse_error(response: httpx2.Response) -> ErrorResponse | None:
    try:
        return ErrorResponse.model_validate(response.json())
    except (ValueError, ValidationError):
        return None


def _details(error: ErrorResponse | None) -> Mapping[str, Any]:
    if error is not None and isinstance(error.error.details, Mapping):
        return error.error.details
    return {}


def _details_retryable(error: ErrorResponse | None) -> bool:
    return _details(error).get("retryable") is not False


def _retry_after(response: httpx2.Response, error: ErrorResponse | None) -> float | None:
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            return float(header)
        except ValueError:
            pass
    details = _details(error)
    for key in ("retry_after_seconds", "retry_after"):
        value = details.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _validation_summary(error: ErrorResponse) -> str:
    items = _details(error).get("validation_errors")
    if not isinstance(items, list) or not items:
        return ""
    parts = []
    for item in items[:5]:
        if isinstance(item, Mapping):
            location = ".".join(str(part) for part in item.get("location") or item.get("loc") or [])
            message = item.get("message") or item.get("msg") or item.get("type") or ""
            parts.append(_clip(f"{location}: {message}" if location else str(message), 160))
    return " (" + "; ".join(parts) + ")" if parts else ""


def _shape_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{location}: {first['msg']}"
