"""Mixpeek's error envelope: every 4xx/5xx the sandbox sends goes through :class:`ApiError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

ERROR_TYPES: dict[int, str] = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    408: "TimeoutError",
    409: "ConflictError",
    422: "ValidationError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
    502: "BadGatewayError",
    503: "ServiceUnavailableError",
    504: "GatewayTimeoutError",
}


def error_type_for(status: int) -> str:
    """The ``error.type`` Mixpeek uses for an HTTP status (a generic name for the others)."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "ServerError" if status >= 500 else "ClientError"


class ApiError(Exception):
    """An HTTP error rendered as ``{"success": false, "status": ..., "error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        self.error_type = error_type or error_type_for(status)
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        return {
            "success": False,
            "status": self.status,
            "error": {
                "message": self.message,
                "type": self.error_type,
                "code": self.code,
                "details": self.details,
            },
        }


def validation_error(
    message: str,
    errors: Sequence[dict[str, Any]],
    *,
    code: str = "validation_error",
    extra_details: dict[str, Any] | None = None,
) -> ApiError:
    """A 422 with ``details.validation_errors`` items shaped ``{type, location, message}``."""
    details: dict[str, Any] = {"validation_errors": list(errors)}
    if extra_details:
        details.update(extra_details)
    return ApiError(422, message, code=code, details=details)


def field_error(location: Sequence[str | int], message: str, error_type: str = "value_error") -> ApiError:
    """A 422 about a single location, e.g. ``["body", "filters", "AND", 0, "value"]``."""
    return validation_error(
        f"{message} (at {'.'.join(str(part) for part in location)})",
        [{"type": error_type, "location": list(location), "message": message}],
        code=error_type,
    )


ACCEPTED_KEYS: dict[str, tuple[str, ...]] = {
    "body": ("status", "task_type", "filters", "sort", "search"),
    "sort": ("field", "direction"),
    "condition": ("field", "operator", "value", "case_sensitive"),
}


def _accepted_keys_for(loc: tuple[Any, ...]) -> tuple[str, ...]:
    if len(loc) <= 1:
        return ACCEPTED_KEYS["body"]
    if loc[0] == "sort":
        return ACCEPTED_KEYS["sort"]
    return ACCEPTED_KEYS["condition"]


def from_pydantic(exc: ValidationError, prefix: Sequence[str | int] = ("body",)) -> ApiError:
    """Turn a pydantic ``ValidationError`` into Mixpeek's 422; undeclared keys become ``extra_forbidden``."""
    items: list[dict[str, Any]] = []
    extras: list[str] = []
    accepted: tuple[str, ...] = ()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        items.append({"type": err["type"], "location": [*prefix, *loc], "message": err["msg"]})
        if err["type"] == "extra_forbidden":
            extras.append(".".join(str(part) for part in loc))
            accepted = accepted or _accepted_keys_for(loc)
    if extras:
        message = f"Unexpected key(s) in the request body: {', '.join(extras)}. Accepted keys: {', '.join(accepted)}."
        return validation_error(message, items, code="extra_forbidden", extra_details={"accepted_keys": list(accepted)})
    first = items[0] if items else {"location": list(prefix), "message": "invalid request"}
    where = ".".join(str(part) for part in first["location"])
    return validation_error(f"Request validation failed: {first['message']} (at {where})", items)
