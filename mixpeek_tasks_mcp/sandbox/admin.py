"""Sandbox-only admin routes under ``/_sandbox`` (no Mixpeek auth): tasks, faults, request log, health.

* ``POST /_sandbox/tasks`` — create one task (any TaskResponse fields, ``created_at``/``updated_at``,
  and optionally ``script`` = ``[{"after_seconds": 0.5, "status": ..., "additional_data": {...}}, ...]``
  or ``duration_seconds`` + ``final_status`` [+ ``final_error``]); ``{"tasks": [...]}`` creates many.
* ``GET /_sandbox/tasks/{id}`` — the stored task plus ``created_at``/``updated_at``.
* ``DELETE /_sandbox/tasks`` — delete every task.
* ``POST /_sandbox/tasks/{id}/transition`` — ``{"status": ..., "error": ..., ...}`` force a change.
* ``GET|POST|DELETE /_sandbox/faults`` — read, merge (see ``FaultSpec``), clear.
* ``GET|POST /_sandbox/rate-limit`` — read or set every key's limit (see ``RateLimitSpec``).
* ``GET|DELETE /_sandbox/requests`` — the /v1 request log (``?limit=N``), or clear it.
* ``POST|DELETE /_sandbox/batches`` — make a batch to order (see ``batch_routes.make_batch``), or forget all.
* ``GET /_sandbox/health``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .batch_routes import BatchAdmin
from .errors import ApiError, field_error, from_pydantic, validation_error
from .faults import FaultSpec
from .generator import record_from_fields
from .ratelimit import RateLimitSpec
from .simulator import Step, apply_patch, lifecycle_steps
from .state import SandboxState
from .store import TaskRecord

SCRIPT_KEYS = ("script", "duration_seconds", "final_status", "final_error")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def admin_view(record: TaskRecord) -> dict[str, Any]:
    """The task document plus its timestamps (always, whatever the /v1 API is configured to show)."""
    return {**record.doc, "created_at": record.created_at, "updated_at": record.updated_at}


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise validation_error(
            "Request body is not valid JSON",
            [{"type": "json_invalid", "location": ["body"], "message": str(exc)}],
            code="json_invalid",
        ) from exc


def _script_steps(raw: Any, index: int) -> list[Step]:
    if not isinstance(raw, list):
        raise field_error(["body", index, "script"], "script must be a list of steps", "list_type")
    steps: list[Step] = []
    for number, step in enumerate(raw):
        location: list[str | int] = ["body", index, "script", number]
        if not isinstance(step, dict) or not isinstance(step.get("after_seconds", 0), int | float):
            raise field_error(location, "each step is an object with a numeric after_seconds")
        patch = {key: value for key, value in step.items() if key != "after_seconds"}
        steps.append((float(step.get("after_seconds", 0)), patch))
    return steps


class Admin:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _create_one(self, fields: Any, index: int) -> dict[str, Any]:
        if not isinstance(fields, dict):
            raise field_error(["body", index], "a task is a JSON object", "dict_type")
        fields = dict(fields)
        plan = {key: fields.pop(key) for key in SCRIPT_KEYS if key in fields}
        try:
            with self.state.rng_lock:
                record = record_from_fields(fields, self.state.rng)
        except (ValueError, ValidationError) as exc:
            if isinstance(exc, ValidationError):
                raise from_pydantic(exc, ("body", index)) from exc
            raise field_error(["body", index], str(exc)) from exc
        steps: list[Step] = []
        if "script" in plan:
            steps = _script_steps(plan["script"], index)
        elif "duration_seconds" in plan:
            duration = plan["duration_seconds"]
            if not isinstance(duration, int | float) or duration < 0:
                raise field_error(["body", index, "duration_seconds"], "duration_seconds must be >= 0")
            final = str(plan.get("final_status") or "COMPLETED")
            with self.state.rng_lock:
                steps = lifecycle_steps(self.state.rng, record.doc, float(duration), final, plan.get("final_error"))
        self.state.store.upsert(record)
        self.state.timeline.cancel(record.task_id)
        if steps:
            self.state.timeline.schedule(record.task_id, steps)
        return admin_view(record)

    async def create(self, request: Request) -> Response:
        body = await _body(request)
        try:
            if isinstance(body, dict) and isinstance(body.get("tasks"), list):
                created = [self._create_one(item, index) for index, item in enumerate(body["tasks"])]
                return _json({"tasks": created}, 201)
            return _json(self._create_one(body, 0), 201)
        except ApiError as error:
            return _json(error.envelope(), error.status)

    async def get(self, request: Request) -> Response:
        task_id = unquote(request.path_params["task_id"])
        record = self.state.store.get(task_id)
        if record is None:
            error = ApiError(404, "Task not found", code="task_not_found")
            return _json(error.envelope(), 404)
        return _json(admin_view(record))

    async def clear_tasks(self, request: Request) -> Response:
        return _json({"deleted": self.state.store.clear()})

    async def transition(self, request: Request) -> Response:
        task_id = unquote(request.path_params["task_id"])
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            error = field_error(["body", "status"], "status (a string) is required")
            return _json(error.envelope(), 422)
        self.state.timeline.cancel(task_id)
        record = self.state.store.update(task_id, lambda doc: apply_patch(doc, body))
        if record is None:
            missing = ApiError(404, "Task not found", code="task_not_found")
            return _json(missing.envelope(), 404)
        return _json(admin_view(record))

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.faults.clear()
        elif request.method == "POST":
            try:
                body = await _body(request)
                self.state.faults.update(FaultSpec.model_validate(body))
            except ApiError as error:
                return _json(error.envelope(), error.status)
            except ValidationError as exc:
                invalid = from_pydantic(exc)
                return _json(invalid.envelope(), invalid.status)
        return _json(self.state.faults.snapshot())

    async def rate_limit(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.state.limits.configure(RateLimitSpec.model_validate(await _body(request)))
            except ApiError as error:
                return _json(error.envelope(), error.status)
            except ValidationError as exc:
                invalid = from_pydantic(exc)
                return _json(invalid.envelope(), invalid.status)
        return _json(self.state.limits.spec.model_dump(mode="json"))

    async def requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.requests.clear()
            return _json({"requests": []})
        limit_raw = request.query_params.get("limit")
        limit = int(limit_raw) if limit_raw and limit_raw.isdigit() else None
        return _json({"requests": self.state.requests.entries(limit)})

    async def health(self, request: Request) -> Response:
        simulator = self.state.simulator
        return _json(
            {
                "status": "ok",
                "tasks": self.state.store.count(),
                "simulate": simulator is not None,
                "live_tasks": simulator.active_owned() if simulator else 0,
            }
        )


def admin_routes(state: SandboxState) -> list[BaseRoute]:
    admin = Admin(state)
    batches = BatchAdmin(state.batches, state.rng)
    return [
        Route("/batches", batches.handle, methods=["POST", "DELETE"]),
        Route("/tasks", admin.create, methods=["POST"]),
        Route("/tasks", admin.clear_tasks, methods=["DELETE"]),
        Route("/tasks/{task_id:path}/transition", admin.transition, methods=["POST"]),
        Route("/tasks/{task_id:path}", admin.get, methods=["GET"]),
        Route("/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
        Route("/rate-limit", admin.rate_limit, methods=["GET", "POST"]),
        Route("/requests", admin.requests, methods=["GET", "DELETE"]),
        Route("/health", admin.health, methods=["GET"]),
    ]
