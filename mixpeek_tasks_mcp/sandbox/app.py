"""The Starlette app: Mixpeek's task routes under ``/v1`` (auth, faults, rate limits, request log)."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ..statuses import ACTIVE
from .admin import admin_routes
from .batch_routes import BatchTarget, dispatch_batch, match_batch_route
from .errors import ApiError, validation_error
from .faults import mangle
from .listing import list_tasks
from .requestlog import key_fingerprint
from .simulator import apply_patch
from .state import SandboxState
from .timeutil import now_iso

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.envelope(), error.headers)


def match_route(method: str, raw_path: str) -> tuple[str | None, str | None]:
    """``(operation, task_id)``; operation is None for an unknown route; ``"!method"`` for 405."""
    prefix = "/v1/tasks/"
    if not raw_path.startswith(prefix) or len(raw_path) == len(prefix):
        return None, None
    rest = raw_path[len(prefix) :]
    if "/" in rest:
        return None, None
    if rest == "list":
        return ("list_tasks" if method == "POST" else "!method"), None
    task_id = unquote(rest)
    if method == "GET":
        return "get_task", task_id
    if method == "DELETE":
        return "kill_task", task_id
    return "!method", task_id


def bearer_key(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _decode_json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        raise validation_error(
            "Request body is not valid JSON",
            [{"type": "json_invalid", "location": ["body", position], "message": f"JSON decode error: {exc}"}],
            code="json_invalid",
        ) from exc


class TasksApi:
    """The /v1 request pipeline: latency -> forced status -> routing -> auth -> per-key limit, rate fault -> handler."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._counter = 0

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        body = await request.body()
        operation, task_id = match_route(request.method, raw)
        target: BatchTarget | None = None
        if operation is None:
            operation, target = match_batch_route(request.method, raw)
        key = bearer_key(request.headers.get("authorization"))
        entry = self.state.requests.add(
            {
                "time": now_iso(),
                "at": time.time(),
                "method": request.method,
                "path": request.url.path,
                "raw_path": raw,
                "query": request.url.query,
                "body": _loggable_body(body),
                "key_fingerprint": key_fingerprint(key) if key else None,
                "namespace": request.headers.get("x-namespace"),
                "user_agent": request.headers.get("user-agent"),
                "operation": operation,
                "status": None,
            }
        )
        response = await self._respond(request, operation, task_id or target, key, body)
        self._counter += 1
        response.headers["X-Request-ID"] = f"req_sandbox_{self._counter}"
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return response

    async def _respond(
        self, request: Request, operation: str | None, task_id: str | BatchTarget | None, key: str | None, body: bytes
    ) -> Response:
        faults = self.state.faults
        route = operation if operation and not operation.startswith("!") else None
        delay = faults.latency_ms(route)
        if delay:
            await asyncio.sleep(delay / 1000)
        forced = faults.forced_status(route)
        if forced is not None:
            headers = {"Retry-After": str(forced.retry_after)} if forced.retry_after is not None else None
            details = {"retry_after_seconds": forced.retry_after} if forced.retry_after is not None else None
            error = ApiError(
                forced.status,
                forced.message or f"Sandbox fault: forced HTTP {forced.status}",
                code="sandbox_forced_status",
                details=details,
                headers=headers,
            )
            return error_response(error)
        if operation is None:
            return error_response(ApiError(404, "Not Found", code="route_not_found"))
        if operation == "!method":
            return error_response(ApiError(405, "Method Not Allowed", code="method_not_allowed"))
        if key is None:
            return error_response(
                ApiError(401, "Missing API key: send 'Authorization: Bearer <api_key>'", code="missing_api_key")
            )
        if not any(hmac.compare_digest(key.encode(), good.encode()) for good in self.state.api_keys):
            return error_response(ApiError(401, "Invalid API key", code="invalid_api_key"))
        per_key = self.state.limits.hit(key)
        decision = per_key if per_key.limited else faults.rate_check(route)
        if decision.limited:
            about: dict[str, Any] = self.state.limits.details() if decision is per_key else {}
            limited = ApiError(
                429,
                "Rate limit exceeded; retry later",
                code="rate_limited",
                details={**about, "retry_after": decision.retry_after, "retry_after_seconds": decision.retry_after},
                headers={**decision.headers, "Retry-After": str(decision.retry_after)},
            )
            return error_response(limited)
        decision.headers = {**per_key.headers, **decision.headers}  # a rate-limit fault is the tighter limit
        try:
            response = self._dispatch(request, operation, task_id, body)
        except ApiError as error:
            response = error_response(error)
        response.headers.update(decision.headers)
        malformed = faults.malformed(route)
        if malformed is not None:
            content, media = mangle(bytes(response.body), malformed.kind)
            response = Response(content, status_code=malformed.status, media_type=media)
        return response

    def _dispatch(self, request: Request, operation: str, task_id: str | BatchTarget | None, body: bytes) -> Response:
        store = self.state.store
        if isinstance(task_id, BatchTarget):
            query = {name: request.query_params[name] for name in request.query_params}
            status, payload = dispatch_batch(self.state.batches, operation, task_id, query, _decode_json(body))
            return json_response(status, json.dumps(payload) if isinstance(payload, str) else payload)
        if operation == "list_tasks":
            query = {name: request.query_params[name] for name in request.query_params}
            decoded = _decode_json(body)
            _refuse_filter_fields(decoded, self.state.faults.refused_filter_fields())
            return json_response(200, list_tasks(store, decoded, query, self.state.timestamps))
        assert task_id is not None
        if operation == "get_task":
            doc = store.get_json(task_id, self.state.timestamps)
            if doc is None:
                raise ApiError(404, "Task not found", code="task_not_found", details={"task_id": task_id})
            return json_response(200, doc)
        return json_response(200, self._kill(task_id))

    def _kill(self, task_id: str) -> dict[str, Any]:
        record = self.state.store.get(task_id)
        if record is None:
            return {"message": f"Task {task_id} not found; nothing to kill", "success": True}
        status = str(record.doc.get("status"))
        if status not in ACTIVE:
            return {"message": f"Task {task_id} is already {status}; nothing to kill", "success": True}
        self.state.timeline.cancel(task_id)
        self.state.store.update(
            task_id, lambda doc: apply_patch(doc, {"status": "CANCELED", "additional_data": {"canceled_by": "user"}})
        )
        return {"message": f"Task {task_id} killed", "success": True}


def _filter_fields(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _filter_fields(item)]
    if not isinstance(node, dict):
        return []
    found = [str(node["field"])] if "field" in node else []
    for key, value in node.items():
        if key in ("AND", "OR", "NOT"):
            found += _filter_fields(value)
        elif key not in ("field", "operator", "value", "case_sensitive"):
            found.append(str(key))  # shorthand equality
    return found


def _refuse_filter_fields(body: Any, refused: frozenset[str]) -> None:
    """The ``refuse_filter_fields`` fault: a 422 like Mixpeek's for a filter on a field it will not take."""
    if not refused or not isinstance(body, dict):
        return
    for name in _filter_fields(body.get("filters")):
        if name in refused:
            raise validation_error(
                f"Filtering on {name!r} is not supported",
                [{"type": "value_error", "location": ["body", "filters"], "message": f"field {name!r} not allowed"}],
                code="unsupported_filter_field",
            )


def _loggable_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body[:2000].decode("utf-8", errors="replace")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = exc.detail if isinstance(exc, HTTPException) else "Internal server error"
    return error_response(ApiError(status, str(message)))


def build_app(state: SandboxState) -> Starlette:
    """The ASGI app of one sandbox: ``/v1/...`` (Mixpeek-compatible) and ``/_sandbox/...`` (admin)."""
    api = TasksApi(state)
    return Starlette(
        routes=[
            Route("/v1/{rest:path}", api.handle, methods=ALL_METHODS),
            Mount("/_sandbox", routes=admin_routes(state)),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
