"""Walk raw arguments: collect problems with their paths, and produce normalized values."""

from __future__ import annotations

import math
import re
from typing import Any

from ..coerce import as_int, is_number
from ..enums import (
    BOOL_OPERATORS,
    GEO_OPERATORS,
    LIST_OPERATORS,
    STRING_OPERATORS,
    FilterOperator,
    SortDirection,
    TaskStatus,
    TaskType,
)
from ..models import LOGICAL_KEYS, MAX_FILTER_DEPTH
from .problems import Problem, accepted, as_bool, decode_json_text, describe, did_you_mean, values_of
from .vocabulary import (
    ADDITIONAL_DATA_KEYS,
    FIELD_PATH,
    OPERATOR_ALIASES,
    OPERATOR_HINTS,
    STATUS_ALIASES,
    TASK_FIELDS,
)


class Checker:
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
                f"takes one status as a string, not {describe(value)}."
                + (hint + example + "." if isinstance(value, list) else " " + accepted(values_of(TaskStatus))),
            )
            return None
        normalized = re.sub(r"[\s\-]+", "_", value.strip()).upper()
        normalized = STATUS_ALIASES.get(normalized, normalized)
        if normalized in values_of(TaskStatus):
            return normalized
        self.fail(
            path,
            f"{value!r} is not a task status.{did_you_mean(normalized, values_of(TaskStatus))} "
            + accepted(values_of(TaskStatus)),
        )
        return None

    def task_type(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"takes one task type as a string, not {describe(value)}.")
            return None
        normalized = re.sub(r"[\s\-]+", "_", value.strip()).lower()
        if normalized in values_of(TaskType):
            return normalized
        suggestions = did_you_mean(normalized, values_of(TaskType))
        if not suggestions:
            containing = [t for t in values_of(TaskType) if normalized and normalized in t]
            if containing:
                suggestions = " Did you mean " + " or ".join(repr(t) for t in containing[:3]) + "?"
        self.fail(path, f"{value!r} is not a task type.{suggestions} " + accepted(values_of(TaskType)))
        return None

    # top-level scalars ------------------------------------------------------------------------------
    def bounded_int(self, path: str, value: Any, low: int, high: int, advice: str) -> int | None:
        number = as_int(value, from_text=True)
        if number is None:
            self.fail(path, f"must be a whole number from {low} to {high}, not {describe(value)}.")
            return None
        if not low <= number <= high:
            self.fail(path, f"must be from {low} to {high}, got {number}.{advice}")
            return None
        return number

    def text(self, path: str, value: Any, max_length: int) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {describe(value)}.")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, f"is {len(value)} characters long; the most is {max_length}.")
            return None
        return value or None

    def field_path(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a dot-notation field name such as 'status', not {describe(value)}.")
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
            close = did_you_mean(head, TASK_FIELDS)
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
        value = decode_json_text(value)
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
                    f"unknown key.{did_you_mean(key, ['field', 'direction'], {'order': 'direction'})} "
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
            if lowered in values_of(SortDirection):
                result["direction"] = lowered
            else:
                self.fail(f"{path}.direction", f"{direction!r} is not a direction. Accepted: asc, desc.")
        else:
            self.fail(f"{path}.direction", f"must be 'asc' or 'desc', not {describe(direction)}.")
        return result

    # filters ------------------------------------------------------------------------------------------
    def filters(self, path: str, value: Any) -> dict[str, Any] | None:
        value = decode_json_text(value)
        if isinstance(value, list):
            value = {"AND": value}  # a plain list of conditions means all of them
        elif isinstance(value, dict) and "field" in value:
            value = {"AND": [value]}  # a bare condition
        if not isinstance(value, dict):
            self.fail(
                path,
                'must be an object such as {"AND": [{"field": "status", "operator": "eq", "value": "FAILED"}]}, '
                f"not {describe(value)}.",
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
                flag = as_bool(item)
                if flag is None:
                    self.fail(f"{path}.case_sensitive", f"must be true or false, not {describe(item)}.")
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
            self.fail(path, f"must be a list of conditions or groups, not {describe(value)}.")
            return []
        if not value:
            self.fail(path, "is an empty list; leave it out or add conditions.")
            return []
        result = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            item = decode_json_text(item)
            if not isinstance(item, dict):
                self.fail(
                    item_path,
                    f'must be a condition object like {{"field": ..., "operator": ..., "value": ...}} '
                    f"or a nested AND/OR/NOT group, not {describe(item)}.",
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
                    hint = did_you_mean(
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
                hint = did_you_mean(
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
            self.fail(path, f"must be a string. {accepted(values_of(FilterOperator))}")
            return None
        key = value.strip().lower().lstrip("$").replace(" ", "_").replace("-", "_")
        key = OPERATOR_ALIASES.get(value.strip(), key)
        try:
            operator = FilterOperator(key)
        except ValueError:
            self.fail(
                path,
                f"{value!r} is not an operator.{did_you_mean(key, values_of(FilterOperator), OPERATOR_HINTS)} "
                + accepted(op.value for op in FilterOperator if op not in GEO_OPERATORS),
            )
            return None
        if operator in GEO_OPERATORS:
            self.fail(path, f"{operator.value!r} needs geo points, and tasks have no geo fields.")
            return None
        return operator

    def operand(self, path: str, field: str, operator: FilterOperator, value: Any) -> Any:
        value = decode_json_text(value) if operator in LIST_OPERATORS else value
        if operator in LIST_OPERATORS:
            if not isinstance(value, list):
                value = [value]  # a scalar for in/nin means a one-element list
            if not value:
                self.fail(path, f"{operator.value!r} with an empty list matches nothing; give at least one value.")
                return None
            return [self.field_value(f"{path}[{i}]", field, operator, v) for i, v in enumerate(value)]
        if operator in BOOL_OPERATORS:
            flag = as_bool(value)
            if flag is None:
                self.fail(path, f"{operator.value!r} takes true or false, not {describe(value)}.")
            return flag
        if isinstance(value, list):
            better = {"eq": "in", "ne": "nin"}.get(operator.value)
            hint = f" Use operator {better!r} for a list." if better else ""
            self.fail(path, f"{operator.value!r} takes one value, not a list.{hint}")
            return None
        if operator in STRING_OPERATORS:
            if not isinstance(value, str) or not value:
                self.fail(path, f"{operator.value!r} takes a non-empty string, not {describe(value)}.")
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
                    f"('2026-11-01T00:00:00Z'), not {describe(value)}.",
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
            self.fail(path, f"must be a string, number or boolean, not {describe(value)}.")
            return None
        comparison = operator in (FilterOperator.EQ, FilterOperator.NE) or operator in LIST_OPERATORS
        if comparison and field == "status":
            return self.status(path, value)
        if comparison and field == "task_type":
            return self.task_type(path, value)
        return value
