"""Walk the AND/OR/NOT filter tree: groups, conditions, operators and operands, each refusal with its path."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..enums import (
    BOOL_OPERATORS,
    GEO_OPERATORS,
    LIST_OPERATORS,
    STRING_OPERATORS,
    FilterOperator,
)
from ..models import LOGICAL_KEYS, MAX_FILTER_DEPTH
from .checker import UNDECODED, Checker
from .problems import MAX_ECHO, accepted, as_bool, child, describe, did_you_mean, has_surrogate, quote, values_of
from .vocabulary import OPERATOR_ALIASES, OPERATOR_HINTS

MAX_LIST_VALUES = 100
"""Values in one in/nin list."""
MAX_VALUE_CHARS = 1000
"""Characters in one string value of a condition."""
MAX_FILTERS_JSON = 8000
"""Characters of the whole normalized filter tree as JSON (it is echoed in the answer and the next call)."""
MAX_REGEX = 500
"""Characters in a regex pattern."""
MAX_REPEAT = 1000
"""The largest repetition count ({n}, {m,n}) in a regex pattern."""
_REPEAT = re.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")


def regex_problem(pattern: str) -> str | None:
    """Why the pattern is refused, or None. Never raises: size, repetition counts and compiling are bounded."""
    if len(pattern) > MAX_REGEX:
        return f"is a pattern of {len(pattern)} characters; the most is {MAX_REGEX}."
    for match in _REPEAT.finditer(pattern):
        for count in match.groups():
            if count and (len(count) > 6 or int(count) > MAX_REPEAT):
                return f"repeats {quote(match.group(0))}: the largest repetition count allowed is {MAX_REPEAT}."
    try:
        re.compile(pattern)
    except re.error as error:
        return f"is not a valid regular expression ({str(error)[: MAX_ECHO * 2]})."
    except RecursionError:
        return "is nested too deeply to be a usable regular expression."
    except (OverflowError, ValueError, MemoryError) as error:
        return f"is not a usable regular expression ({type(error).__name__})."
    return None


class FilterChecker(Checker):
    """Adds the filter tree to the scalar checks."""

    def filters(self, path: str, value: Any) -> dict[str, Any] | None:
        value = self.decode(path, value)
        if value is UNDECODED:
            return None
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
        errors_before = len(self.problems)
        result = self.group(path, value, depth=1)
        if result is not None and len(self.problems) == errors_before:
            size = len(json.dumps(result))
            if size > MAX_FILTERS_JSON:
                self.fail(
                    path,
                    f"is {size} characters as JSON; the most is {MAX_FILTERS_JSON}. Split the question into "
                    "several calls, or match a shared prefix (starts_with) instead of listing values.",
                )
                return None
        return result

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
                shorthand = self.shorthand(child(path, key), key, item)
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
        for index, raw in enumerate(value):
            item_path = f"{path}[{index}]"
            item = self.decode(item_path, raw)
            if item is UNDECODED:
                continue
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
            ops = ", ".join(quote(str(op)) for op in list(value)[:5])
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
                    child(path, key), f"unknown key in a condition.{hint} A condition has field, operator, value."
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
        key = value[: MAX_ECHO + 1].strip().lower().lstrip("$").replace(" ", "_").replace("-", "_")
        key = OPERATOR_ALIASES.get(value.strip(), key)
        try:
            operator = FilterOperator(key)
        except ValueError:
            self.fail(
                path,
                f"{quote(value)} is not an operator.{did_you_mean(key, values_of(FilterOperator), OPERATOR_HINTS)} "
                + accepted(op.value for op in FilterOperator if op not in GEO_OPERATORS),
            )
            return None
        if operator in GEO_OPERATORS:
            self.fail(path, f"{operator.value!r} needs geo points, and tasks have no geo fields.")
            return None
        return operator

    def operand(self, path: str, field: str, operator: FilterOperator, value: Any) -> Any:
        if operator in LIST_OPERATORS:
            value = self.decode(path, value)
            if value is UNDECODED:
                return None
            if not isinstance(value, list):
                value = [value]  # a scalar for in/nin means a one-element list
            if not value:
                self.fail(path, f"{operator.value!r} with an empty list matches nothing; give at least one value.")
                return None
            if len(value) > MAX_LIST_VALUES:
                self.fail(
                    path,
                    f"lists {len(value)} values; {operator.value!r} takes at most {MAX_LIST_VALUES}. Split the "
                    "list over several calls.",
                )
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
                problem = regex_problem(value)
                if problem is not None:
                    self.fail(path, problem)
                    return None
            return self.field_value(path, field, operator, value)
        if operator in (FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT, FilterOperator.LTE):
            if not (isinstance(value, int | float) and not isinstance(value, bool)) and not (
                isinstance(value, str) and value
            ):
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
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            self.fail(path, f"is {describe(value)}: numbers must fit in 64 bits.")
            return None
        if not isinstance(value, str | int | float | bool):
            self.fail(path, f"must be a string, number or boolean, not {describe(value)}.")
            return None
        if isinstance(value, str):
            if len(value) > MAX_VALUE_CHARS:
                self.fail(path, f"is a string of {len(value)} characters; the most is {MAX_VALUE_CHARS}.")
                return None
            if has_surrogate(value):
                self.fail(path, f"{quote(value)} holds a lone UTF-16 surrogate, which is not text.")
                return None
        comparison = operator in (FilterOperator.EQ, FilterOperator.NE) or operator in LIST_OPERATORS
        if comparison and field == "status":
            return self.status(path, value)
        if comparison and field == "task_type":
            return self.task_type(path, value)
        return value
