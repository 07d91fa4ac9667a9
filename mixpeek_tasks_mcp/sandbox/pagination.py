"""Query-string pagination (limit/page_size, offset, page, cursor aliases, include_total) and cursors.

Cursors are opaque base64url JSON ``{"v": last sort value, "id": last task_id, "h": query hash,
"p": page number}``: keyset pagination, so a deep page costs the same as the first one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, validation_error
from .query import CompiledQuery
from .store import SqlParam

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_OFFSET = 10000
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int | None
    page: int | None
    cursor: str | None
    include_total: bool


def _int_param(
    query: Mapping[str, str], name: str, low: int, high: int | None, errors: list[dict[str, Any]]
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    location = ["query", name]
    try:
        value = int(raw.strip())
    except ValueError:
        errors.append(
            {
                "type": "int_parsing",
                "location": location,
                "message": "Input should be a valid integer, unable to parse string as an integer",
            }
        )
        return None
    if value < low:
        errors.append(
            {
                "type": "greater_than_equal",
                "location": location,
                "message": f"Input should be greater than or equal to {low}",
            }
        )
    elif high is not None and value > high:
        errors.append(
            {
                "type": "less_than_equal",
                "location": location,
                "message": f"Input should be less than or equal to {high}",
            }
        )
    return value


def parse_page_request(query: Mapping[str, str]) -> PageRequest:
    """Validate the pagination query parameters; out-of-range or malformed values give a 422."""
    errors: list[dict[str, Any]] = []
    limit = _int_param(query, "limit", 1, MAX_LIMIT, errors)
    page_size = _int_param(query, "page_size", 1, MAX_LIMIT, errors)
    offset = _int_param(query, "offset", 0, MAX_OFFSET, errors)
    page = _int_param(query, "page", 1, None, errors)
    include_raw = query.get("include_total")
    include_total = False
    if include_raw is not None and include_raw != "":
        lowered = include_raw.strip().lower()
        if lowered in _TRUE:
            include_total = True
        elif lowered not in _FALSE:
            errors.append(
                {
                    "type": "bool_parsing",
                    "location": ["query", "include_total"],
                    "message": "Input should be a valid boolean, unable to interpret input",
                }
            )
    if errors:
        first = errors[0]
        raise validation_error(
            f"Invalid query parameter {first['location'][1]}: {first['message']}", errors, code=first["type"]
        )
    cursor = next((query[name] for name in ("cursor", "next_cursor", "after") if query.get(name)), None)
    size = limit if limit is not None else page_size if page_size is not None else DEFAULT_LIMIT
    return PageRequest(limit=size, offset=offset, page=page, cursor=cursor, include_total=include_total)


def query_signature(compiled: CompiledQuery) -> str:
    """A short hash of the filters and sort, so a cursor cannot be replayed against another query."""
    material = json.dumps([compiled.where, list(compiled.params), compiled.sort_expr, compiled.descending], default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def encode_cursor(sort_value: SqlParam, task_id: str, signature: str, page: int) -> str:
    raw = json.dumps({"v": sort_value, "id": task_id, "h": signature, "p": page}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Cursor:
    sort_value: SqlParam
    task_id: str
    page: int


def decode_cursor(token: str, signature: str) -> Cursor:
    """Parse a cursor; garbage, or a cursor from another filter/sort, is a 400."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict):
            raise ValueError("cursor is not an object")
        value = data["v"]
        task_id = data["id"]
        page = int(data.get("p", 1))
        if not isinstance(task_id, str) or not isinstance(value, str | int | float | None):
            raise ValueError("bad cursor fields")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "Invalid pagination cursor", code="invalid_cursor") from exc
    if data.get("h") != signature:
        raise ApiError(
            400,
            "This cursor belongs to a different filter or sort; start again without a cursor",
            code="cursor_mismatch",
        )
    return Cursor(sort_value=value, task_id=task_id, page=max(page, 1))
