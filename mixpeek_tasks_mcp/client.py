"""Async client for Mixpeek's Tasks API: one shared connection pool, deadlines, retries, clear errors.

Every answer is untrusted: its body is read within a byte cap (after decompression) and a deadline, decoded
as strict JSON no deeper than ``MAX_JSON_DEPTH``, and stripped of the key before anything else sees it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
from pydantic import ValidationError

from . import __version__
from .budget import (
    BudgetPolicy,
    BudgetTimeout,
    KeyBudget,
    KeyBudgets,
    RequestContext,
    SharedLimiter,
    current_context,
)
from .budget.hooks import BudgetHooks
from .budget.learned import read_advice
from .clock import Clock, SystemClock
from .models import ListTasksRequest, ListTasksResponse, TaskResponse
from .observability import hooks as observe
from .redaction import SECRETS_LOG_FILTER, TooDeep, redact_tree
from .settings import STARTING_REQUESTS_PER_MINUTE, Settings
from .task_ids import echo, task_id_problem
from .upstream_errors import (
    Answer,
    Call,
    details_retryable,
    error_for,
    no_answer_error,
    not_json_error,
    parse_error,
    redirect_error,
    retry_after,
    shape_problem,
    too_large_error,
    unreachable_error,
)
from .upstream_errors import MissingApiKeyError as MissingApiKeyError
from .upstream_errors import MixpeekError as MixpeekError
from .upstream_errors import TaskNotFoundError as TaskNotFoundError

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = f"mixpeek-tasks-mcp/{__version__}"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""The most of one response body we read, after decompression (a full page of 100 tasks is well under 1 MB)."""
LAST_CHECK_SECONDS = 1.5
"""A request made at (or just before) the caller's deadline still gets this long: a wait's last check."""


@dataclass(frozen=True)
class Credentials:
    """The key and namespace one call is made with (the server's own, or a client's passthrough)."""

    api_key: str | None
    namespace: str | None = None
    key_source: str = "MIXPEEK_API_KEY"

    @property
    def identity(self) -> str:
        """Who a request is made as, without keeping the key itself (tables, Redis keys)."""
        raw = f"{self.api_key or ''}\0{self.namespace or ''}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    def __repr__(self) -> str:  # never show the key
        return f"Credentials(api_key={'***' if self.api_key else None}, namespace={self.namespace!r})"


def observed_budget_hooks() -> BudgetHooks:
    """The budget's waits and learned limits, as the observability hooks (issue 21) count them per key label."""

    def label(fingerprint: str) -> str:  # a key fingerprint starts with the labels' short hash (both SHA-256)
        from .observability import labels  # on the first budget event: start-up loads the hooks only

        short = fingerprint[: labels.KEY_HASH_CHARS]
        return labels.KEY_LABELS.bounded(labels.KEY_LABELS.aliases.get(short, short))

    return BudgetHooks(
        on_wait=[lambda fingerprint, _priority, seconds: observe.budget_wait(label(fingerprint), seconds)],
        on_learned=[lambda fingerprint, per_minute, _source: observe.learned_limit(label(fingerprint), per_minute)],
    )


class _NoAnswer(Exception):
    """The request's own deadline passed before the whole answer arrived."""


class _TooLarge(Exception):
    pass


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class TasksClient:
    """Talks to ``/v1/tasks``; safe to share across concurrent tool calls."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        shared: SharedLimiter | None = None,
        hooks: BudgetHooks | None = None,
    ) -> None:
        """``shared``: counts each key's requests across replicas (in-process only when None); ``hooks``: where
        metrics hear of budget waits, learned limits and 429s."""
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng
        self._client: httpx2.AsyncClient | None = None
        policy = BudgetPolicy(
            ceiling_per_minute=settings.max_requests_per_minute,
            start_per_minute=STARTING_REQUESTS_PER_MINUTE,
            burst=settings.request_burst,
        )
        self.budgets = KeyBudgets(policy, self._clock, shared=shared, hooks=hooks or observed_budget_hooks())
        """One budget per API key, shared by every request made with it (list calls, the poller, scans)."""

    def budget_for(self, credentials: Credentials) -> KeyBudget:
        return self.budgets.for_key(credentials.api_key)

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
        deadline: float | None = None,
        context: RequestContext | None = None,
    ) -> ListTasksResponse:
        """``POST /v1/tasks/list``: pagination in the query string, declared keys only in the body.

        Never more than ``limit`` rows: extra rows are an upstream fault, dropped with a warning. ``context``
        (default: the caller's, see budget/context.py) says the request's priority and owner."""
        params: dict[str, str] = {"limit": str(limit), "include_total": "true"}
        if cursor is not None:
            params["cursor"] = cursor
        elif offset is not None:
            params["offset"] = str(offset)
        data = await self._request(
            "POST",
            "/v1/tasks/list",
            credentials,
            params=params,
            json=request.to_body(),
            deadline=deadline,
            context=context,
        )
        rows = data.get("results") if isinstance(data, dict) else None
        if isinstance(rows, list) and len(rows) > limit:
            logger.warning("POST /v1/tasks/list: %d rows for limit %d, keeping the first %d", len(rows), limit, limit)
            data = {**data, "results": rows[:limit]}
        try:
            return ListTasksResponse.model_validate(data)
        except ValidationError as exc:
            raise MixpeekError(
                "Mixpeek answered POST /v1/tasks/list with JSON that is not a task list "
                f"({shape_problem(exc)}). Nothing is wrong with your call; try again, and if it persists "
                "check MIXPEEK_API_BASE points at the Mixpeek API."
            ) from None

    async def get_task(
        self,
        task_id: str,
        *,
        credentials: Credentials,
        deadline: float | None = None,
        context: RequestContext | None = None,
    ) -> TaskResponse:
        """``GET /v1/tasks/{task_id}``; raises TaskNotFoundError on 404, and MixpeekError without sending anything
        for an id that could change the request path (``..``; see task_ids.py)."""
        if (problem := task_id_problem(task_id)) is not None:
            raise MixpeekError(f"{echo(task_id)} is not a task id ({problem}); nothing was sent to Mixpeek.")
        path = f"/v1/tasks/{quote(task_id, safe='')}"
        data = await self._request(
            "GET", path, credentials, deadline=deadline, not_found_is_task=task_id, context=context
        )
        try:
            return TaskResponse.model_validate(data)
        except ValidationError as exc:
            raise MixpeekError(
                f"Mixpeek answered GET {path} with JSON that is not a task ({shape_problem(exc)}). "
                "Try again; if it persists check MIXPEEK_API_BASE."
            ) from None

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        if not credentials.api_key:
            raise MissingApiKeyError(
                f"No Mixpeek API key is configured: set {credentials.key_source} in the server's environment "
                "(for example in the client config's env block) and restart the server. "
                "To try the server without an account, run `mixpeek-tasks-mcp serve --sandbox`."
            )
        SECRETS_LOG_FILTER.remember(credentials.api_key)
        headers = {"Authorization": f"Bearer {credentials.api_key}"}
        if credentials.namespace:
            headers["X-Namespace"] = credentials.namespace
        return headers

    @observe.mixpeek_request
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
        context: RequestContext | None = None,
    ) -> Any:
        """One call, retries included, each attempt granted by the key's budget first.

        An interactive call ends by ``deadline`` and within MIXPEEK_REQUEST_DEADLINE of its start, its wait for
        the budget included. A call whose caller says whether it is still wanted (``context.wanted``: the
        poller's checks) waits for the budget as long as it is wanted, and is then sent within
        MIXPEEK_REQUEST_DEADLINE of its grant (never past ``deadline`` but for a last check)."""
        headers = self._headers(credentials)
        context = context or current_context()
        budget = self.budget_for(credentials)
        start = self._clock.now()
        caller_deadline = deadline if deadline is not None else math.inf
        patient = context.wanted is not None
        overall = caller_deadline if patient else min(caller_deadline, start + self._settings.request_deadline)
        max_retries = self._settings.max_retries
        attempt = 0
        server_error_retried = False
        while True:
            attempt += 1
            call = Call(method, path, credentials.api_key, credentials.key_source, attempt)
            try:
                await budget.acquire(context, None if patient or overall == math.inf else overall)
            except BudgetTimeout as timeout:
                raise self._budget_error(method, path, timeout) from None
            if patient and attempt == 1:
                overall = min(caller_deadline, self._clock.now() + self._settings.request_deadline)
            try:
                answer = await self._send(method, path, headers, params, json, overall)
            except (httpx2.TransportError, _NoAnswer) as exc:
                budget.finished(status=None)
                if attempt <= max_retries and await self._backoff(attempt, None, overall):
                    logger.warning("%s %s: %s, retrying (attempt %d)", method, path, type(exc).__name__, attempt)
                    continue
                if isinstance(exc, _NoAnswer):
                    raise no_answer_error(call, self._clock.now() - start) from None
                raise unreachable_error(call, self._settings.api_base, type(exc).__name__) from None
            except _TooLarge:
                budget.finished(status=None)
                raise too_large_error(call, MAX_RESPONSE_BYTES) from None
            except BaseException:  # cancelled mid-request: the grant is spent, the answer never read
                budget.finished(status=None)
                raise
            status = answer.status
            problem: str | None = None
            try:
                data = self._decode(answer.body, credentials.api_key)
            except ValueError as exc:
                problem, data = str(exc), None
            error = parse_error(data) if status >= 300 else None
            pause = retry_after(answer, error) if status == 429 else None
            if pause is not None:
                pause = min(pause, self._settings.retry_after_cap)
            budget.finished(status=status, advice=read_advice(answer.headers, wall_now=time.time()), retry_after=pause)
            if 300 <= status < 400:
                raise redirect_error(answer, call)
            if status < 300:
                if problem is not None:
                    raise not_json_error(answer, call, problem)
                return data
            retryable = details_retryable(error)
            if status in RETRYABLE_STATUSES and retryable and attempt <= max_retries:
                if await self._backoff(attempt, retry_after(answer, error), overall):
                    logger.warning("%s %s: HTTP %d, retrying (attempt %d)", method, path, status, attempt)
                    continue
            elif status >= 500 and retryable and not server_error_retried and attempt <= max_retries:
                server_error_retried = True
                if await self._backoff(attempt, None, overall):
                    logger.warning("%s %s: HTTP %d, retrying once", method, path, status)
                    continue
            raise error_for(answer, error, call, not_found_is_task=not_found_is_task)

    def _budget_error(self, method: str, path: str, timeout: BudgetTimeout) -> MixpeekError:
        """No request could go out before the caller's deadline: a rate limit (status 429, so waits poll on).
        Names the key's limit and where it came from, never the key."""
        ready = max(math.ceil(timeout.ready_in), 1)
        if timeout.paused:
            why = (
                "Mixpeek answered 429 (rate limit) for this API key, so this server holds that key's requests "
                f"for {ready} s more (other keys are not held)"
            )
        else:
            why = f"this API key's request budget ({timeout.limit_text}) has no room before this call's deadline"
        return MixpeekError(
            f"{method} {path} was not sent: {why}. Call again in {ready} s.", status=429, error_type="request_budget"
        )

    @observe.mixpeek_attempt
    async def _send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        json: Any,
        deadline: float,
    ) -> Answer:
        """One attempt, the whole body read within MAX_RESPONSE_BYTES and one deadline for connect and read:
        the read timeout alone restarts with every byte, so a trickling body would never end."""
        settings = self._settings
        remaining = max(deadline - self._clock.now(), LAST_CHECK_SECONDS)
        with anyio.move_on_after(min(remaining, settings.connect_timeout + settings.read_timeout)):
            async with self._http.stream(method, path, params=params, json=json, headers=headers) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise _TooLarge
                return Answer(response.status_code, response.headers, bytes(body))
        raise _NoAnswer

    async def _backoff(self, attempt: int, retry_after: float | None, deadline: float) -> bool:
        """Sleep before the next attempt; False when the wait asked for is longer than MIXPEEK_RETRY_AFTER_CAP
        or would pass the deadline: better an answer now that says when to call again."""
        if retry_after is not None:
            if retry_after > self._settings.retry_after_cap:
                return False
            delay = retry_after
        else:
            base = min(0.5 * 2 ** (attempt - 1), 8.0)
            delay = base / 2 + self._rng() * base / 2
        if self._clock.now() + delay > deadline:
            return False
        await self._clock.sleep(delay)
        return True

    @staticmethod
    def _decode(body: bytes, secret: str | None) -> Any:
        """Strict JSON (no NaN or Infinity), not too deep, the key redacted from every string; else ValueError."""
        try:
            return redact_tree(json.loads(body, parse_constant=_strict_constant), secret)
        except RecursionError:
            raise TooDeep("nested too deeply") from None
