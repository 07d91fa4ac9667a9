"""Pydantic models of the Tasks API wire format: strict for what we send, tolerant for what we read.

Request models are the single source of the tool input schemas (see ``schema.py``) and of request
validation (see ``validation.py``). Response models never reject what the API sends: unknown statuses,
task types and fields are kept as they came.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from .enums import FilterOperator, SortDirection, TaskStatus, TaskType

MAX_FILTER_DEPTH = 5
"""Deepest nesting of AND/OR/NOT groups we send; the API's own limit is undocumented."""

FilterScalar = str | int | float | bool
FilterValue = FilterScalar | list[FilterScalar] | None

LOGICAL_KEYS = ("AND", "OR", "NOT")


class FilterCondition(BaseModel):
    """One comparison: ``{"field": "status", "operator": "eq", "value": "FAILED"}``."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        min_length=1,
        description="Dot-notation task field, e.g. status, task_type, task_id, created_at, "
        "additional_data.batch_id, additional_data.bucket_id, additional_data.object_count.",
    )
    operator: FilterOperator = Field(
        default=FilterOperator.EQ,
        description="Comparison operator. in/nin take a list; exists/is_null take true or false.",
    )
    value: FilterValue = Field(
        description="Literal to compare with: a string, number, boolean, or a list for in/nin.",
    )


def _filter_item_kind(item: Any) -> str:
    """Tell a condition (has a ``field`` key) from a nested group."""
    if isinstance(item, FilterCondition) or (isinstance(item, dict) and "field" in item):
        return "condition"
    return "group"


class LogicalOperator(BaseModel):
    """An AND/OR/NOT group; other keys are shorthand equality (``{"additional_data.batch_id": "btch_1"}``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    AND: list[FilterItem] | None = Field(default=None, description="All of these must match.")
    OR: list[FilterItem] | None = Field(default=None, description="At least one of these must match.")
    NOT: list[FilterItem] | None = Field(default=None, description="None of these may match.")
    case_sensitive: bool | None = Field(default=None, description="Compare strings case-sensitively (default false).")

    @model_validator(mode="after")
    def _check_shorthand(self) -> LogicalOperator:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, str | int | float | bool) or value is None:
                raise ValueError(
                    f"shorthand equality {key!r} takes a string, number or boolean, not {type(value).__name__}"
                )
        return self

    def depth(self) -> int:
        """Nesting depth of groups: a flat group is 1."""
        children = [
            item.depth()
            for key in LOGICAL_KEYS
            for item in (getattr(self, key) or [])
            if isinstance(item, LogicalOperator)
        ]
        return 1 + max(children, default=0)


FilterItem = Annotated[
    Annotated[FilterCondition, Tag("condition")] | Annotated[LogicalOperator, Tag("group")],
    Discriminator(_filter_item_kind),
]
LogicalOperator.model_rebuild()


class SortOption(BaseModel):
    """One sort key: ``{"field": "created_at", "direction": "desc"}``."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, description="Dot-notation field to sort by, e.g. created_at.")
    direction: SortDirection = Field(default=SortDirection.DESC, description="asc or desc.")


class SelectionKeys(BaseModel):
    """The filtering keys ``POST /v1/tasks/list`` declares (what is sent; ``TaskSelection`` adds shorthands)."""

    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = Field(default=None, description="Only tasks with this exact status.")
    task_type: TaskType | None = Field(default=None, description="Only tasks of this type.")
    filters: LogicalOperator | None = Field(
        default=None,
        description="AND/OR/NOT filter tree. AND: all must match; OR: at least one; NOT: none may match. "
        "Each list holds conditions {field, operator, value} or nested groups (at most 5 levels). "
        "field: dot-notation task field (status, task_type, task_id, created_at, additional_data.batch_id, "
        "additional_data.bucket_id, additional_data.object_count, ...). operator (default eq): eq ne gt gte lt "
        "lte; in/nin take a list; contains starts_with ends_with regex text phrase words take a string; "
        "exists/is_null take true or false; geo_* do not apply to tasks. case_sensitive: exact-case string "
        'matching (default false). Shorthand: {"additional_data.batch_id": "btch_1"} means equality.',
    )
    search: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Case-insensitive text matched against task_id, task_type and status.",
    )

    @model_validator(mode="after")
    def _check_depth(self) -> SelectionKeys:
        if self.filters is not None and self.filters.depth() > MAX_FILTER_DEPTH:
            raise ValueError(f"filters are nested deeper than {MAX_FILTER_DEPTH} levels")
        return self


BATCH_FIELD = "additional_data.batch_id"
MAX_BATCH_ID_CHARS = 200


class TaskSelection(SelectionKeys):
    """Which tasks: the API's filtering keys plus ``batch_id``, shared by every tool that selects tasks.

    People name their work by batch (``btch_x``), not by filter trees: ``batch_id`` is the shorthand for
    ``additional_data.batch_id eq <id>``, ANDed with whatever else is given (``api_keys``)."""

    batch_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BATCH_ID_CHARS,
        description="Only the tasks of this batch (e.g. btch_abc123): shorthand for filters "
        "additional_data.batch_id eq <id>; combines with the other keys.",
    )

    def is_empty(self) -> bool:
        return (
            self.status is None
            and self.task_type is None
            and self.filters is None
            and not self.search
            and not self.batch_id
        )

    def selection(self) -> TaskSelection:
        """Just the selecting keys (argument models add paging, budgets and the like)."""
        return TaskSelection.model_validate(
            self.model_dump(include=set(TaskSelection.model_fields), exclude_none=True, by_alias=True)
        )

    def api_keys(self) -> dict[str, Any]:
        """The keys as the API takes them: ``batch_id`` becomes an ``eq`` condition ANDed with the filters."""
        keys: dict[str, Any] = self.model_dump(
            include=set(SelectionKeys.model_fields), exclude_none=True, by_alias=True
        )
        if self.batch_id is None:
            return keys
        batch = {"field": BATCH_FIELD, "operator": "eq", "value": self.batch_id}
        # a group's AND, OR and NOT all hold at once: the condition joins its AND list, no deeper nesting
        tree = keys.get("filters") or {}
        keys["filters"] = {**tree, "AND": [batch, *(tree.get("AND") or [])]}
        return keys


class ListTasksRequest(SelectionKeys):
    """Body of ``POST /v1/tasks/list``: only the keys the API declares."""

    sort: SortOption | None = Field(default=None, description="Sort key.")

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send: declared keys only, nulls left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TaskResponse(BaseModel):
    """One task as the API returns it; anything unexpected is kept, never rejected."""

    model_config = ConfigDict(extra="allow")

    task_id: str
    task_type: str = "unknown"
    status: str = "UNKNOWN"
    inputs: list[Any] | None = None
    outputs: list[Any] | None = None
    additional_data: dict[str, Any] | None = None
    error: Any = None
    cancellation: dict[str, Any] | None = None
    queue_position: Any = None
    estimated_wait_minutes: Any = None

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("task_type", "status"):
                if data.get(key) is None:
                    data.pop(key, None)
                else:
                    data[key] = str(data[key])
            if "task_id" in data:
                data["task_id"] = str(data["task_id"])
            for key in ("inputs", "outputs"):
                if data.get(key) is not None and not isinstance(data[key], list):
                    data[key] = [data[key]]
            if data.get("additional_data") is not None and not isinstance(data["additional_data"], dict):
                data["additional_data"] = {"value": data["additional_data"]}
            if data.get("cancellation") is not None and not isinstance(data["cancellation"], dict):
                data.pop("cancellation")
        return data

    def error_text(self) -> str | None:
        """The failure message: ``error``, then the older ``error_message``, then ``additional_data.error``."""
        extra = self.model_extra or {}
        for candidate in (self.error, extra.get("error_message"), (self.additional_data or {}).get("error")):
            if candidate not in (None, ""):
                return candidate if isinstance(candidate, str) else str(candidate)
        return None


class PaginationResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    total: int | None = None
    page: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    next_page: Any = None
    previous_page: Any = None
    next_cursor: str | None = None


class ListTasksResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    results: list[TaskResponse]
    pagination: PaginationResponse = Field(default_factory=PaginationResponse)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str = ""
    type: str = ""
    code: str | None = None
    details: Any = None


class ErrorResponse(BaseModel):
    """Mixpeek's error envelope: ``{"success": false, "status": 404, "error": {...}}``."""

    model_config = ConfigDict(extra="allow")

    success: bool = False
    status: int | None = None
    error: ErrorDetail
