"""``POST /v1/tasks/list`` end to end (minus HTTP): validate, compile, page, and render the JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..models import LOGICAL_KEYS, ListTasksRequest
from .errors import ApiError, from_pydantic
from .pagination import MAX_OFFSET, PageRequest, decode_cursor, encode_cursor, parse_page_request, query_signature
from .query import CompiledQuery, Location, compile_request
from .store import TaskStore


def _pop_condition_case(node: Any, loc: Location, found: dict[Location, bool]) -> None:
    """Take the per-condition ``case_sensitive`` the official SDK injects, before strict validation."""
    if not isinstance(node, dict):
        return
    for key in LOGICAL_KEYS:
        items = node.get(key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            item_loc = (*loc, key, index)
            if isinstance(item, dict) and "field" in item:
                flag = item.get("case_sensitive", "absent")
                if flag is None or isinstance(flag, bool):
                    item.pop("case_sensitive")
                    if flag is not None:
                        found[item_loc] = flag
            else:
                _pop_condition_case(item, item_loc, found)


def parse_body(body: Any) -> tuple[ListTasksRequest, bool, dict[Location, bool]]:
    """Validate a decoded JSON body; returns the request, whether sort.direction was given, case flags."""
    if body is None:
        body = {}
    condition_case: dict[Location, bool] = {}
    direction_given = True
    if isinstance(body, dict):
        body = json.loads(json.dumps(body))
        _pop_condition_case(body.get("filters"), ("body", "filters"), condition_case)
        sort = body.get("sort")
        direction_given = not isinstance(sort, dict) or sort.get("direction") is not None
        if isinstance(sort, dict) and "direction" in sort and sort["direction"] is None:
            sort.pop("direction")
    try:
        request = ListTasksRequest.model_validate(body)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc
    return request, direction_given, condition_case


def _pagination(page: int, limit: int, has_more: bool, total: int | None, next_cursor: str | None) -> dict[str, Any]:
    return {
        "total": total,
        "page": page,
        "page_size": limit,
        "total_pages": None if total is None else math.ceil(total / limit),
        "next_page": str(page + 1) if has_more else None,
        "previous_page": str(page - 1) if page > 1 else None,
        "next_cursor": next_cursor,
    }


def run_list(store: TaskStore, compiled: CompiledQuery, paging: PageRequest, timestamps: bool = True) -> str:
    """One page as the JSON text of a ``ListTasksResponse`` (each task with created_at/updated_at if
    ``timestamps``)."""
    signature = query_signature(compiled)
    where, params = compiled.where, compiled.params
    offset = 0
    if paging.cursor is not None:
        cursor = decode_cursor(paging.cursor, signature)
        after_sql, after_params = compiled.after(cursor.sort_value, cursor.task_id)
        where, params = f"({where}) AND {after_sql}", (*params, *after_params)
        page = cursor.page
    else:
        if paging.offset is not None:
            offset = paging.offset
        elif paging.page is not None:
            offset = (paging.page - 1) * paging.limit
            if offset > MAX_OFFSET:
                raise ApiError(
                    400,
                    f"page {paging.page} at limit {paging.limit} skips more than {MAX_OFFSET} tasks; "
                    "use cursor pagination (pagination.next_cursor) to go deeper",
                    code="offset_too_large",
                )
        page = offset // paging.limit + 1
    rows = store.select(where, params, compiled.sort_expr, compiled.descending, paging.limit + 1, offset)
    has_more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor(last.sort_value, last.task_id, signature, page + 1)
    total = store.count_where(compiled.where, compiled.params) if paging.include_total else None
    pagination = json.dumps(_pagination(page, paging.limit, has_more, total, next_cursor))
    return '{"results":[' + ",".join(row.json(timestamps) for row in rows) + '],"pagination":' + pagination + "}"


def list_tasks(store: TaskStore, body: Any, query: Mapping[str, str], timestamps: bool = True) -> str:
    """Validate query parameters and body, then answer with one page (JSON text)."""
    paging = parse_page_request(query)
    request, direction_given, condition_case = parse_body(body)
    compiled = compile_request(request, sort_direction_given=direction_given, condition_case=condition_case)
    return run_list(store, compiled, paging, timestamps)
