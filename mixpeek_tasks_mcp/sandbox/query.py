"""Translate a validated ``ListTasksRequest`` into SQL with bound parameters.

Semantics (the tests compute expected sets from this description, not from this code):

* Fields are dot paths. ``task_id``, ``task_type``, ``status`` are text columns; ``created_at`` and
  ``updated_at`` are time columns whose comparison values are ISO-8601 strings or epoch seconds; any
  other path reads the task document (``additional_data.bucket_id`` -> ``$.additional_data.bucket_id``).
* Types never mix: a string only equals/compares with a string, a number with a number, a boolean with
  a boolean. A missing field or JSON null matches nothing except ``ne``/``nin`` (which are the negations
  of ``eq``/``in``), ``exists false`` and ``is_null true``.
* ``case_sensitive`` (default false, inherited by nested groups, overridable per condition) makes string
  ``eq ne in nin gt gte lt lte contains starts_with ends_with regex`` ASCII case-insensitive.
  ``text`` is a case-insensitive substring, ``phrase`` whole words in sequence, ``words`` every whole word.
* ``AND`` all, ``OR`` any, ``NOT`` none; the keys of one group (and shorthand ``{"path": value}``
  equalities) are ANDed; an empty list adds no constraint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..enums import GEO_OPERATORS, FilterOperator, SortDirection
from ..models import LOGICAL_KEYS, FilterCondition, FilterValue, ListTasksRequest, LogicalOperator
from .errors import ApiError, field_error
from .store import SqlParam
from .timeutil import parse_moment

Location = tuple[str | int, ...]
FieldKind = Literal["text", "time", "json"]

TEXT_COLUMNS = frozenset({"task_id", "task_type", "status"})
TIME_COLUMNS = frozenset({"created_at", "updated_at"})
_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$")
_RANGE_SQL = {
    FilterOperator.GT: ">",
    FilterOperator.GTE: ">=",
    FilterOperator.LT: "<",
    FilterOperator.LTE: "<=",
}
DEFAULT_SORT_FIELD = "created_at"


@dataclass(frozen=True)
class FieldRef:
    """Where a dot path lives: a column or a JSON path inside ``doc``."""

    path: str
    kind: FieldKind
    expr: str
    json_path: str | None = None

    @property
    def json_type(self) -> str:
        return f"json_type(doc, '{self.json_path}')"


def resolve_field(path: str, location: Location) -> FieldRef:
    """Map a dot path to SQL; segments are checked against a strict regex before entering a JSON path."""
    if path in TEXT_COLUMNS:
        return FieldRef(path, "text", path)
    if path in TIME_COLUMNS:
        return FieldRef(path, "time", path)
    segments = path.split(".")
    if not all(_SEGMENT.match(segment) for segment in segments) or _SEGMENT.match(segments[0]) is None:
        raise field_error(
            location,
            f"invalid field path {path!r}: use dot-separated names of letters, digits and underscores",
        )
    json_path = "$"
    for segment in segments:
        json_path += f"[{segment}]" if segment.isdigit() else f".{segment}"
    return FieldRef(path, "json", f"json_extract(doc, '{json_path}')", json_path)


@dataclass
class _Sql:
    parts: list[str] = field(default_factory=list)
    params: list[SqlParam] = field(default_factory=list)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Compiler:
    def __init__(self, condition_case: Mapping[Location, bool]) -> None:
        self.condition_case = condition_case
        self.params: list[SqlParam] = []

    def bind(self, *values: SqlParam) -> str:
        self.params.extend(values)
        return ", ".join("?" for _ in values)

    # --- groups -------------------------------------------------------------------------------
    def group(self, group: LogicalOperator, loc: Location, inherited_ci: bool) -> str:
        sensitive = group.case_sensitive if group.case_sensitive is not None else inherited_ci
        clauses: list[str] = []
        for key in LOGICAL_KEYS:
            items = getattr(group, key)
            if not items:
                continue
            compiled = [self.item(item, (*loc, key, index), sensitive) for index, item in enumerate(items)]
            if key == "AND":
                clauses.append("(" + " AND ".join(compiled) + ")")
            elif key == "OR":
                clauses.append("(" + " OR ".join(compiled) + ")")
            else:
                clauses.append("NOT (" + " OR ".join(f"IFNULL({c}, 0)" for c in compiled) + ")")
        for key, value in (group.model_extra or {}).items():
            ref = resolve_field(key, (*loc, key))
            clauses.append(self.eq(ref, value, sensitive, (*loc, key)))
        return "(" + " AND ".join(clauses) + ")" if clauses else "1"

    def item(self, item: FilterCondition | LogicalOperator, loc: Location, sensitive: bool) -> str:
        if isinstance(item, LogicalOperator):
            return self.group(item, loc, sensitive)
        return self.condition(item, loc, self.condition_case.get(loc, sensitive))

    # --- conditions ---------------------------------------------------------------------------
    def condition(self, cond: FilterCondition, loc: Location, sensitive: bool) -> str:
        op = cond.operator
        value_loc = (*loc, "value")
        if op in GEO_OPERATORS:
            raise ApiError(
                400,
                f"Operator {op.value!r} is not supported on tasks: tasks have no geo fields",
                code="unsupported_operator",
                details={"location": list(loc), "operator": op.value},
            )
        ref = resolve_field(cond.field, (*loc, "field"))
        value = cond.value
        if op is FilterOperator.EQ:
            return self.eq(ref, value, sensitive, value_loc)
        if op is FilterOperator.NE:
            return f"NOT IFNULL({self.eq(ref, value, sensitive, value_loc)}, 0)"
        if op in _RANGE_SQL:
            return self.compare(ref, _RANGE_SQL[op], value, sensitive, value_loc)
        if op in (FilterOperator.IN, FilterOperator.NIN):
            if not isinstance(value, list):
                raise field_error(value_loc, f"operator {op.value!r} takes a list of values", "list_type")
            clause = self.one_of(ref, value, sensitive, value_loc)
            return clause if op is FilterOperator.IN else f"NOT IFNULL({clause}, 0)"
        if op in (FilterOperator.EXISTS, FilterOperator.IS_NULL):
            if not isinstance(value, bool):
                raise field_error(value_loc, f"operator {op.value!r} takes true or false", "bool_type")
            return self.presence(ref, op, value)
        if not isinstance(value, str):
            raise field_error(value_loc, f"operator {op.value!r} takes a string", "string_type")
        return self.text(ref, op, value, sensitive, value_loc)

    def _time_value(self, ref: FieldRef, value: object, loc: Location) -> str:
        moment = parse_moment(value)
        if moment is None:
            raise field_error(loc, f"{ref.path} compares with an ISO-8601 datetime or epoch seconds, not {value!r}")
        return moment

    def eq(self, ref: FieldRef, value: FilterValue, sensitive: bool, loc: Location) -> str:
        if value is None:
            return self.presence(ref, FilterOperator.IS_NULL, True)
        if isinstance(value, list):
            raise field_error(loc, "eq takes a single value; use 'in' for a list", "value_error")
        if ref.kind == "time":
            return f"{ref.expr} = {self.bind(self._time_value(ref, value, loc))}"
        if isinstance(value, bool):
            if ref.kind == "text":
                return "0"
            return f"{ref.json_type} = {self.bind('true' if value else 'false')}"
        if isinstance(value, int | float):
            if ref.kind == "text":
                return "0"
            return f"({ref.expr} = {self.bind(value)} AND {ref.json_type} IN ('integer', 'real'))"
        if sensitive:
            return f"({ref.expr} = {self.bind(value)} COLLATE NOCASE AND {ref.expr} = {self.bind(value)})"
        return f"{ref.expr} = {self.bind(value)} COLLATE NOCASE"

    def one_of(self, ref: FieldRef, values: list[str | int | float | bool], sensitive: bool, loc: Location) -> str:
        if not values:
            return "0"
        if ref.kind != "time" and all(isinstance(v, str) for v in values):
            marks = self.bind(*values)
            if sensitive:
                again = self.bind(*values)
                return f"({ref.expr} COLLATE NOCASE IN ({marks}) AND {ref.expr} IN ({again}))"
            return f"{ref.expr} COLLATE NOCASE IN ({marks})"
        return "(" + " OR ".join(self.eq(ref, v, sensitive, loc) for v in values) + ")"

    def compare(self, ref: FieldRef, sql_op: str, value: FilterValue, sensitive: bool, loc: Location) -> str:
        if ref.kind == "time":
            return f"{ref.expr} {sql_op} {self.bind(self._time_value(ref, value, loc))}"
        if isinstance(value, bool) or value is None or isinstance(value, list):
            raise field_error(loc, "range operators take a number or a string", "value_error")
        if isinstance(value, int | float):
            if ref.kind == "text":
                return "0"
            return f"({ref.expr} {sql_op} {self.bind(value)} AND {ref.json_type} IN ('integer', 'real'))"
        collate = "" if sensitive else " COLLATE NOCASE"
        clause = f"{ref.expr} {sql_op} {self.bind(value)}{collate}"
        return clause if ref.kind == "text" else f"({clause} AND {ref.json_type} = 'text')"

    def presence(self, ref: FieldRef, op: FilterOperator, flag: bool) -> str:
        if ref.kind != "json":
            present = "1"
            return present if (op is FilterOperator.EXISTS) == flag else "0"
        if op is FilterOperator.EXISTS:
            return f"{ref.json_type} IS {'NOT ' if flag else ''}NULL"
        return f"{ref.expr} IS {'' if flag else 'NOT '}NULL"

    def text(self, ref: FieldRef, op: FilterOperator, value: str, sensitive: bool, loc: Location) -> str:
        expr = ref.expr
        is_text = f"typeof({expr}) = 'text'"
        if op is FilterOperator.REGEX:
            try:
                re.compile(value)
            except re.error as exc:
                raise field_error(loc, f"invalid regular expression: {exc}", "regex_error") from exc
            if sensitive:
                return f"{expr} REGEXP {self.bind(value)}"
            return f"regexp_ci({self.bind(value)}, {expr})"
        if op is FilterOperator.PHRASE:
            return f"phrase_match({expr}, {self.bind(value)})"
        if op is FilterOperator.WORDS:
            return f"words_match({expr}, {self.bind(value)})"
        if op is FilterOperator.TEXT:
            sensitive = False
            op = FilterOperator.CONTAINS
        if not sensitive:
            pattern = _like_escape(value)
            if op is FilterOperator.CONTAINS:
                pattern = f"%{pattern}%"
            elif op is FilterOperator.STARTS_WITH:
                pattern = f"{pattern}%"
            else:
                pattern = f"%{pattern}"
            return f"({is_text} AND {expr} LIKE {self.bind(pattern)} ESCAPE '\\')"
        if op is FilterOperator.CONTAINS:
            return f"({is_text} AND instr({expr}, {self.bind(value)}) > 0)"
        if not value:
            return is_text
        if op is FilterOperator.STARTS_WITH:
            return f"({is_text} AND substr({expr}, 1, {self.bind(len(value))}) = {self.bind(value)})"
        return f"({is_text} AND substr({expr}, -{self.bind(len(value))}) = {self.bind(value)})"


@dataclass(frozen=True)
class CompiledQuery:
    """WHERE clause and sort key of a list request; ``signature`` identifies it for cursors."""

    where: str
    params: tuple[SqlParam, ...]
    sort_field: str
    sort_expr: str
    descending: bool
    sort_is_column: bool

    def after(self, sort_value: SqlParam, task_id: str) -> tuple[str, tuple[SqlParam, ...]]:
        """Keyset condition for the rows that follow ``(sort_value, task_id)`` in this order."""
        s = self.sort_expr
        if self.sort_is_column:
            op = "<" if self.descending else ">"
            return f"({s}, task_id) {op} (?, ?)", (sort_value, task_id)
        if self.descending:
            if sort_value is None:
                return f"({s} IS NULL AND task_id < ?)", (task_id,)
            return (
                f"({s} < ? OR ({s} = ? AND task_id < ?) OR {s} IS NULL)",
                (sort_value, sort_value, task_id),
            )
        if sort_value is None:
            return f"({s} IS NOT NULL OR task_id > ?)", (task_id,)
        return f"({s} > ? OR ({s} = ? AND task_id > ?))", (sort_value, sort_value, task_id)


def compile_request(
    request: ListTasksRequest,
    *,
    sort_direction_given: bool = True,
    condition_case: Mapping[Location, bool] | None = None,
) -> CompiledQuery:
    """Build the SQL of a list request.

    ``sort_direction_given`` is False when the raw body's sort had no ``direction``: the API then sorts
    ascending, whatever our model's default. ``condition_case`` holds per-condition ``case_sensitive``
    flags (as the official SDK sends them) keyed by the condition's location.
    """
    compiler = _Compiler(condition_case or {})
    clauses: list[str] = []
    if request.status is not None:
        marks = compiler.bind(request.status.value, request.status.value)
        first, second = marks.split(", ")
        clauses.append(f"(status = {first} COLLATE NOCASE AND status = {second})")
    if request.task_type is not None:
        marks = compiler.bind(request.task_type.value, request.task_type.value)
        first, second = marks.split(", ")
        clauses.append(f"(task_type = {first} COLLATE NOCASE AND task_type = {second})")
    if request.search is not None:
        pattern = f"%{_like_escape(request.search)}%"
        compiler.bind(pattern, pattern, pattern)
        clauses.append("(task_id LIKE ? ESCAPE '\\' OR task_type LIKE ? ESCAPE '\\' OR status LIKE ? ESCAPE '\\')")
    if request.filters is not None:
        clauses.append(compiler.group(request.filters, ("body", "filters"), False))
    if request.sort is not None:
        sort_ref = resolve_field(request.sort.field, ("body", "sort", "field"))
        descending = sort_direction_given and request.sort.direction is SortDirection.DESC
    else:
        sort_ref = resolve_field(DEFAULT_SORT_FIELD, ("body", "sort", "field"))
        descending = False
    return CompiledQuery(
        where=" AND ".join(clauses) if clauses else "1",
        params=tuple(compiler.params),
        sort_field=sort_ref.path,
        sort_expr=sort_ref.expr,
        descending=descending,
        sort_is_column=sort_ref.kind != "json",
    )
