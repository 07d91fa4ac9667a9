"""Check and normalize agent-built arguments before any API call.

A refusal names the path (``filters.AND[1].operator``), what is wrong, the accepted values and, for near
misses, a did-you-mean. Forgivable slips are normalized instead: status case, task type case, a scalar for
``in``/``nin``, JSON sent as a string, ``NOT`` given as one object, a bare condition or list as ``filters``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import ValidationError

from .arguments import MAX_LIMIT, MAX_OFFSET, ListTasksArguments, WaitForTaskArguments
from .coerce import as_int, is_number
from .enums import (
    BOOL_OPERATORS,
    GEO_OPERATORS,
    LIST_OPERATORS,
    STRING_OPERATORS,
    FilterOperator,
    SortDirection,
    TaskStatus,
    TaskType,
)
from .models import LOGICAL_KEYS, MAX_FILTER_DEPTH

FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
TASK_FIELDS = (
    "task_id",
    "task_type",
    "status",
    "created_at",
    "updated_at",
    "inputs",
    "outputs",
    "error",
    "additional_data",
    "queue_position",
    "estimated_wait_minutes",
)
ADDITIONAL_DATA_KEYS = (
    "batch_id",
    "bucket_id",
    "namespace_id",
    "collection_ids",
    "object_count",
    "current_tier",
    "total_tiers",
    "job_id",
    "cluster_id",
    "object_id",
    "error",
)
OPERATOR_ALIASES = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
}
OPERATOR_HINTS = {
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "not_equal": "ne",
    "not_equals": "ne",
    "neq": "ne",
    "greater_than": "gt",
    "greater": "gt",
    "greater_than_or_equal": "gte",
    "greater_or_equal": "gte",
    "ge": "gte",
    "less_than": "lt",
    "less": "lt",
    "less_than_or_equal": "lte",
    "less_or_equal": "lte",
    "le": "lte",
    "not_in": "nin",
    "notin": "nin",
    "one_of": "in",
    "startswith": "starts_with",
    "prefix": "starts_with",
    "endswith": "ends_with",
    "suffix": "ends_with",
    "like": "contains",
    "includes": "contains",
    "has": "contains",
    "match": "regex",
    "matches": "regex",
    "null": "is_null",
    "isnull": "is_null",
    "exist": "exists",
}
STATUS_ALIASES = {"CANCELLED": "CANCELED", "INPROGRESS": "IN_PROGRESS", "RUNNING": "IN_PROGRESS"}
ARGUMENT_HINTS = {
    "page_size": "limit",
    "per_page": "limit",
    "size": "limit",
    "count": "limit",
    "max_results": "limit",
    "page": "offset (offset = (page - 1) * limit) or cursor",
    "skip": "offset",
    "next_cursor": "cursor",
    "after": "cursor",
    "statuses": "status (one value) or filters with operator in",
    "state": "status",
    "type": "task_type",
    "types": "task_type (one value) or filters with operator in",
    "filter": "filters",
    "where": "filters",
    "query": "search",
    "q": "search",
    "text": "search",
    "order_by": "sort",
    "sort_by": "sort",
    "order": "sort",
    "include_total": "nothing: the total is always requested",
    "timeout": "timeout_seconds",
    "timeout_s": "timeout_seconds",
    "wait_seconds": "timeout_seconds",
    "id": "task_id",
    "taskid": "task_id",
    "until": "wait_for",
    "statuses_to_wait_for": "wait_for",
}
MAX_PROBLEMS = 8


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def render(self) -> str:
        return f"- {self.path}: {self.message}" if self.path else f"- {self.message}"


class InvalidArguments(Exception):
    """The arguments were refused; nothing was sent to Mixpeek."""

    def __init__(self, tool: str, problems: list[Problem]) -> None:
        self.tool = tool
        self.problems = problems[:MAX_PROBLEMS]
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.tool} refused these arguments (nothing was sent to Mixpeek):"]
        lines += [problem.render() for problem in self.problems]
        return "\n".join(lines)


def _values(enum: type[Enum]) -> list[str]:
    return [str(member.value) for member in enum]


def _accepted(values: Iterable[str]) -> str:
    return "Accepted: " + ", ".join(values) + "."


def _did_you_mean(word: str, candidates: Iterable[str], hints: Mapping[str, str] | None = None) -> str:
    key = word.strip().lower()
    if hints and key in hints:
        return f" Did you mean {hints[key]!r}?"
    matches = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not matches:
        lowered = {candidate.lower(): candidate for candidate in candidates}
        matches = [lowered[m] for m in difflib.get_close_matches(key, list(lowered), n=3, cutoff=0.6)]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode_json_text(value: Any) -> Any:
    """Clients sometimes send an object or list as a JSON string: decode it."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Checker:
    """Walks raw arguments, collecting problems and producing normalized values."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # scalar enums -----------------------------------------------------------------------------------
    def status(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            hint = " For several statuses use filters, e.g. " if isinstance(value, list) else " "
            example = '{"AND": [{"field": "status", "operator": "in", "value": ["FAILED", "CANCELED"]}]}'
            self.fail(
                path,
                f"takes one status as a string, not {_describe(value)}."
                + (hint + example + "." if isinstance(value, list) else " " + _accepted(_values(TaskStatus))),
            )
            return None
        normalized = re.sub(r"[\s\-]+", "_", value.strip()).upper()
        normalized = STATUS_ALIASES.get(normalized, normalized)
        if normalized in _values(TaskStatus):
            return normalized
        self.fail(
            path,
            f"{value!r} is not a task status.{_did_you_mean(normalized, _values(TaskStatus))} "
            + _accepted(_values(TaskStatus)),
        )
        return None

    def task_type(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"takes one task type as a string, not {_describe(value)}.")
            return None
        normalized = re.sub(r"[\s\-]+", "_", value.strip()).lower()
        if normalized in _values(TaskType):
            return normalized
        suggestions = _did_you_mean(normalized, _values(TaskType))
        if not suggestions:
            containing = [t for t in _values(TaskType) if normalized and normalized in t]
            if containing:
                suggestions = " Did you mean " + " or ".join(repr(t) for t in containing[:3]) + "?"
        self.fail(path, f"{value!r} is not a task type.{suggestions} " + _accepted(_values(TaskType)))
        return None

    # top-level scalars ------------------------------------------------------------------------------
    def bounded_int(self, path: str, value: Any, low: int, high: int, advice: str) -> int | None:
        number = as_int(value, from_text=True)
        if number is None:
            self.fail(path, f"must be a whole number from {low} to {high}, not {_describe(value)}.")
            return None
        if not low <= number <= high:
            self.fail(path, f"must be from {low} to {high}, got {number}.{advice}")
            return None
        return number

    def text(self, path: str, value: Any, max_length: int) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {_describe(value)}.")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, f"is {len(value)} characters long; the most is {max_length}.")
            return None
        return value or None

    def field_path(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a dot-notation field name such as 'status', not {_describe(value)}.")
            return None
        text: str = value.strip()
        if not FIELD_PATH.match(text):
            self.fail(
                path,
                f"{text!r} is not a dot-notation field path (letters, digits, _ and dots), "
                "e.g. 'additional_data.batch_id'.",
            )
            return None
        head = text.split(".", 1)[0]
        if head not in TASK_FIELDS:
            close = _did_you_mean(head, TASK_FIELDS)
            if head in ADDITIONAL_DATA_KEYS or not close:
                nested = f"additional_data.{text}"
                hint = f" Did you mean {nested!r}? Task-specific data lives under additional_data."
            else:
                hint = close
            self.fail(path, f"tasks have no field {head!r}.{hint} Task fields: {', '.join(TASK_FIELDS)}.")
            return None
        return text

    # sort ---------------------------------------------------------------------------------------------
    def sort(self, path: str, value: Any) -> dict[str, Any] | None:
        value = _decode_json_text(value)
        if isinstance(value, str):
            text = value.strip()
            direction = "asc"
            if text.startswith("-"):
                text, direction = text[1:], "desc"
            elif ":" in text or " " in text:
                text, _, direction = re.split(r"([:\s]+)", text, maxsplit=1)
            value = {"field": text, "direction": direction}
        if not isinstance(value, dict):
            self.fail(path, 'must be an object like {"field": "created_at", "direction": "desc"}.')
            return None
        result: dict[str, Any] = {}
        for key in value:
            if key not in ("field", "direction"):
                self.fail(
                    f"{path}.{key}",
                    f"unknown key.{_did_you_mean(key, ['field', 'direction'], {'order': 'direction'})} "
                    "Sort takes field and direction.",
                )
        if "field" not in value:
            self.fail(f"{path}.field", "is required, e.g. 'created_at'.")
        else:
            field = self.field_path(f"{path}.field", value["field"])
            if field is not None:
                result["field"] = field
        direction = value.get("direction", "desc")
        if isinstance(direction, str):
            lowered = direction.strip().lower()
            lowered = {"ascending": "asc", "descending": "desc"}.get(lowered, lowered)
            if lowered in _values(SortDirection):
                result["direction"] = lowered
            else:
                self.fail(f"{path}.direction", f"{direction!r} is not a direction. Accepted: asc, desc.")
        else:
            self.fail(f"{path}.direction", f"must be 'asc' or 'desc', not {_describe(direction)}.")
        return result

    # filters ------------------------------------------------------------------------------------------
    def filters(self, path: str, value: Any) -> dict[str, Any] | None:
        value = _decode_json_text(value)
        if isinstance(value, list):
            value = {"AND": value}  # a plain list of conditions means all of them
        elif isinstance(value, dict) and "field" in value:
            value = {"AND": [value]}  # a bare condition
        if not isinstance(value, dict):
            self.fail(
                path,
                'must be an object such as {"AND": [{"field": "status", "operator": "eq", "value": "FAILED"}]}, '
                f"not {_describe(value)}.",
            )
            return None
        if not value:
            return None
        return self.group(path, value, depth=1)

    def group(self, path: str, value: dict[str, Any], depth: int) -> dict[str, Any] | None:
        if depth > MAX_FILTER_DEPTH:
            self.fail(
                path,
                f"filters are nested {depth} levels deep; the most is {MAX_FILTER_DEPTH}. "
                "Flatten them: AND inside AND (or OR inside OR) can be merged into one list.",
            )
            return None
        result: dict[str, Any] = {}
        errors_before = len(self.problems)
        for raw_key, item in value.items():
            key = str(raw_key)
            if key.lstrip("$").upper() in LOGICAL_KEYS:
                key = key.lstrip("$").upper()
                result[key] = self.items(f"{path}.{key}", item, depth)
            elif key == "case_sensitive":
                flag = _as_bool(item)
                if flag is None:
                    self.fail(f"{path}.case_sensitive", f"must be true or false, not {_describe(item)}.")
                else:
                    result[key] = flag
            elif key in ("operator", "value"):
                self.fail(
                    f"{path}.{key}",
                    'belongs in a condition with a field: {"field": "status", "operator": "eq", "value": "FAILED"}.',
                )
            else:
                shorthand = self.shorthand(f"{path}.{key}", key, item)
                if shorthand is not None:
                    result[shorthand[0]] = shorthand[1]
        if len(self.problems) == errors_before and not set(result) - {"case_sensitive"}:
            self.fail(path, "has no conditions: give AND, OR or NOT with a list of conditions.")
        return result

    def items(self, path: str, value: Any, depth: int) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            value = [value]  # NOT given as one object, as a docs page shows it
        if not isinstance(value, list):
            self.fail(path, f"must be a list of conditions or groups, not {_describe(value)}.")
            return []
        if not value:
            self.fail(path, "is an empty list; leave it out or add conditions.")
            return []
        result = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            item = _decode_json_text(item)
            if not isinstance(item, dict):
                self.fail(
                    item_path,
                    f'must be a condition object like {{"field": ..., "operator": ..., "value": ...}} '
                    f"or a nested AND/OR/NOT group, not {_describe(item)}.",
                )
                continue
            if "field" in item:
                condition = self.condition(item_path, item)
                if condition is not None:
                    result.append(condition)
            else:
                keys = [k for k in item if isinstance(k, str)]
                looks_like_condition = any(k.lower() in ("op", "operator", "value", "key", "path") for k in keys)
                if looks_like_condition:
                    hint = _did_you_mean(
                        next((k for k in keys if k.lower() in ("key", "path", "name")), "field"),
                        ["field"],
                        {"key": "field", "path": "field", "name": "field"},
                    )
                    self.fail(f"{item_path}.field", f"is required in a condition.{hint}")
                    continue
                nested = self.group(item_path, item, depth + 1)
                if nested:
                    result.append(nested)
        return result

    def shorthand(self, path: str, key: Any, value: Any) -> tuple[str, Any] | None:
        field = self.field_path(path, key)
        if field is None:
            return None
        if isinstance(value, dict):
            ops = ", ".join(f"{op!r}" for op in value)
            self.fail(
                path,
                f"shorthand equality takes a plain value, not an object ({ops}). For comparisons write a "
                f'condition: {{"field": "{field}", "operator": "gt", "value": ...}}.',
            )
            return None
        if isinstance(value, list) or value is None:
            self.fail(
                path,
                "shorthand equality takes one string, number or boolean. For a list write "
                f'{{"field": "{field}", "operator": "in", "value": [...]}}; for a missing value use is_null.',
            )
            return None
        return field, self.field_value(path, field, FilterOperator.EQ, value)

    def condition(self, path: str, item: dict[str, Any]) -> dict[str, Any] | None:
        errors_before = len(self.problems)
        for key in item:
            if key == "case_sensitive":
                self.fail(
                    f"{path}.case_sensitive",
                    'belongs on the group, next to AND/OR/NOT: {"AND": [...], "case_sensitive": true}.',
                )
            elif key not in ("field", "operator", "value"):
                hint = _did_you_mean(
                    str(key),
                    ["field", "operator", "value"],
                    {"op": "operator", "values": "value", "val": "value", "key": "field", "path": "field"},
                )
                self.fail(
                    f"{path}.{key}",
                    f"unknown key in a condition.{hint} A condition has field, operator, value.",
                )
        field = self.field_path(f"{path}.field", item.get("field"))
        operator = self.operator(f"{path}.operator", item.get("operator", "eq"))
        if field is None or operator is None:
            return None
        if operator in BOOL_OPERATORS and "value" not in item:
            value: Any = True
        elif "value" not in item:
            self.fail(f"{path}.value", f"is required for operator {operator.value!r}.")
            return None
        else:
            value = self.operand(f"{path}.value", field, operator, item["value"])
        if len(self.problems) > errors_before:
            return None
        return {"field": field, "operator": operator.value, "value": value}

    def operator(self, path: str, value: Any) -> FilterOperator | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string. {_accepted(_values(FilterOperator))}")
            return None
        key = value.strip().lower().lstrip("$").replace(" ", "_").replace("-", "_")
        key = OPERATOR_ALIASES.get(value.strip(), key)
        try:
            operator = FilterOperator(key)
        except ValueError:
            self.fail(
                path,
                f"{value!r} is not an operator.{_did_you_mean(key, _values(FilterOperator), OPERATOR_HINTS)} "
                + _accepted(op.value for op in FilterOperator if op not in GEO_OPERATORS),
            )
            return None
        if operator in GEO_OPERATORS:
            self.fail(path, f"{operator.value!r} needs geo points, and tasks have no geo fields.")
            return None
        return operator

    def operand(self, path: str, field: str, operator: FilterOperator, value: Any) -> Any:
        value = _decode_json_text(value) if operator in LIST_OPERATORS else value
        if operator in LIST_OPERATORS:
            if not isinstance(value, list):
                value = [value]  # a scalar for in/nin means a one-element list
            if not value:
                self.fail(path, f"{operator.value!r} with an empty list matches nothing; give at least one value.")
                return None
            return [self.field_value(f"{path}[{i}]", field, operator, v) for i, v in enumerate(value)]
        if operator in BOOL_OPERATORS:
            flag = _as_bool(value)
            if flag is None:
                self.fail(path, f"{operator.value!r} takes true or false, not {_describe(value)}.")
            return flag
        if isinstance(value, list):
            better = {"eq": "in", "ne": "nin"}.get(operator.value)
            hint = f" Use operator {better!r} for a list." if better else ""
            self.fail(path, f"{operator.value!r} takes one value, not a list.{hint}")
            return None
        if operator in STRING_OPERATORS:
            if not isinstance(value, str) or not value:
                self.fail(path, f"{operator.value!r} takes a non-empty string, not {_describe(value)}.")
                return None
            if operator is FilterOperator.REGEX:
                try:
                    re.compile(value)
                except re.error as exc:
                    self.fail(path, f"is not a valid regular expression ({exc}).")
                    return None
            return value
        if operator in (FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT, FilterOperator.LTE):
            if not (is_number(value) or (isinstance(value, str) and value)):
                self.fail(
                    path,
                    f"{operator.value!r} compares with a number or a string such as an ISO date "
                    f"('2026-11-01T00:00:00Z'), not {_describe(value)}.",
                )
                return None
            return self.field_value(path, field, operator, value)
        if value is None:
            self.fail(path, f"{operator.value!r} with null: use operator 'is_null' with value true instead.")
            return None
        if isinstance(value, dict):
            self.fail(path, "must be a string, number or boolean, not an object.")
            return None
        return self.field_value(path, field, operator, value)

    def field_value(self, path: str, field: str, operator: FilterOperator, value: Any) -> Any:
        """Normalize values of enum fields (status upper-case, task_type lower-case) and check them."""
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(path, "must be a finite number.")
            return None
        if not isinstance(value, str | int | float | bool):
            self.fail(path, f"must be a string, number or boolean, not {_describe(value)}.")
            return None
        comparison = operator in (FilterOperator.EQ, FilterOperator.NE) or operator in LIST_OPERATORS
        if comparison and field == "status":
            return self.status(path, value)
        if comparison and field == "task_type":
            return self.task_type(path, value)
        return value


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _unknown_arguments(tool: str, checker: _Checker, arguments: Mapping[str, Any], known: Iterable[str]) -> None:
    known = list(known)
    for name in arguments:
        if name not in known:
            hint = _did_you_mean(str(name), known, ARGUMENT_HINTS)
            checker.fail(str(name), f"{tool} has no argument {name!r}.{hint} Arguments: {', '.join(known)}.")


def _from_pydantic(tool: str, exc: ValidationError) -> InvalidArguments:
    problems = []
    for error in exc.errors():
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        problems.append(Problem(location, error["msg"] + "."))
    return InvalidArguments(tool, problems)


def check_list_tasks(arguments: Mapping[str, Any]) -> ListTasksArguments:
    """Validate and normalize ``list_tasks`` arguments, or raise InvalidArguments."""
    checker = _Checker()
    _unknown_arguments("list_tasks", checker, arguments, ListTasksArguments.model_fields)
    clean: dict[str, Any] = {}
    if arguments.get("status") is not None:
        clean["status"] = checker.status("status", arguments["status"])
    if arguments.get("task_type") is not None:
        clean["task_type"] = checker.task_type("task_type", arguments["task_type"])
    if arguments.get("filters") is not None:
        clean["filters"] = checker.filters("filters", arguments["filters"])
    if arguments.get("sort") is not None:
        clean["sort"] = checker.sort("sort", arguments["sort"])
    if arguments.get("search") is not None:
        clean["search"] = checker.text("search", arguments["search"], 200)
    if arguments.get("limit") is not None:
        clean["limit"] = checker.bounded_int(
            "limit", arguments["limit"], 1, MAX_LIMIT, " Page through the rest with offset or cursor."
        )
    if arguments.get("offset") is not None:
        clean["offset"] = checker.bounded_int(
            "offset", arguments["offset"], 0, MAX_OFFSET, " To go deeper, follow next_cursor with cursor."
        )
    if arguments.get("cursor") is not None:
        clean["cursor"] = checker.text("cursor", arguments["cursor"], 4096)
    if clean.get("offset") is not None and clean.get("cursor") is not None:
        checker.fail("cursor", "give offset or cursor, not both (the cursor already knows its position).")
    if checker.problems:
        raise InvalidArguments("list_tasks", checker.problems)
    try:
        return ListTasksArguments.model_validate({k: v for k, v in clean.items() if v is not None})
    except ValidationError as exc:
        raise _from_pydantic("list_tasks", exc) from None


def check_wait_for_task(
    arguments: Mapping[str, Any], *, default_timeout: float, max_timeout: float
) -> WaitForTaskArguments:
    """Validate and normalize ``wait_for_task`` arguments, or raise InvalidArguments."""
    checker = _Checker()
    _unknown_arguments("wait_for_task", checker, arguments, WaitForTaskArguments.model_fields)
    clean: dict[str, Any] = {"timeout_seconds": min(default_timeout, max_timeout)}
    task_id = arguments.get("task_id")
    if task_id is None:
        checker.fail("task_id", "is required: the id of the task to wait on (list_tasks shows ids).")
    elif isinstance(task_id, str) and task_id.strip() and len(task_id.strip()) <= 200:
        clean["task_id"] = task_id.strip()
    else:
        checker.fail("task_id", f"must be a task id string, not {_describe(task_id)}.")
    timeout = arguments.get("timeout_seconds")
    if timeout is not None:
        number = float(timeout) if isinstance(timeout, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", timeout) else timeout
        if not is_number(number) or number < 0:
            checker.fail("timeout_seconds", f"must be a number of seconds >= 0, not {_describe(timeout)}.")
        elif number > max_timeout:
            checker.fail(
                "timeout_seconds",
                f"{number:g} is more than this server allows ({max_timeout:g} s). Wait up to {max_timeout:g} s "
                "and call again to keep waiting; most clients also cut a tool call at 60 s-5 min.",
            )
        else:
            clean["timeout_seconds"] = float(number)
    wait_for = _decode_json_text(arguments.get("wait_for"))
    if wait_for is not None:
        if isinstance(wait_for, str):
            wait_for = [wait_for]
        if not isinstance(wait_for, list) or not wait_for:
            checker.fail("wait_for", f"must be a list of statuses, not {_describe(wait_for)}.")
        else:
            clean["wait_for"] = [checker.status(f"wait_for[{i}]", s) for i, s in enumerate(wait_for)]
    if checker.problems:
        raise InvalidArguments("wait_for_task", checker.problems)
    try:
        return WaitForTaskArguments.model_validate(clean)
    except ValidationError as exc:
        raise _from_pydantic("wait_for_task", exc) from None
