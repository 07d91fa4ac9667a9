"""The blank-is-absent reading and the strict view are driven by the models: a new argument or tool gets both."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from agents.strict_schema import ensure_strict_json_schema
from pydantic import ConfigDict, Field

from mixpeek_tasks_mcp.arguments import ListTasksArguments, WaitForTaskArguments
from mixpeek_tasks_mcp.models import TaskSelection
from mixpeek_tasks_mcp.schema import self_contained_schema
from mixpeek_tasks_mcp.schema_profiles import constraint_words, openai_strict
from mixpeek_tasks_mcp.validation import InvalidArguments, check_list_tasks
from mixpeek_tasks_mcp.validation.absent import MAX_WALK_DEPTH, without_absent

from .test_schema_clients import openai_strict_problems


class FutureToolArguments(TaskSelection):
    """A tool that does not exist yet: the shared selection plus arguments of its own."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str | None = Field(default=None, min_length=1, max_length=100, description="One batch.")
    confirm: bool | None = Field(default=None, description="Really do it.")
    max_items: int = Field(default=10, ge=1, le=50, description="How many.")
    ids: list[str] | None = Field(default=None, min_length=1, description="Which ones.")


def test_a_new_models_blanks_are_absent_without_listing_them_anywhere() -> None:
    raw = {
        "batch_id": "",
        "confirm": False,
        "max_items": None,
        "ids": [],
        "status": None,
        "filters": {"AND": [{"field": "status", "value": "FAILED", "operator": None}], "OR": [], "NOT": None},
        "unknown": None,
    }
    assert without_absent(raw, FutureToolArguments) == {
        "filters": {"AND": [{"field": "status", "value": "FAILED"}]},
        "unknown": None,  # not an argument: left for the checks to refuse by name
    }


def test_a_new_models_strict_view_follows_the_rules() -> None:
    strict = openai_strict(self_contained_schema(FutureToolArguments))
    assert openai_strict_problems(strict) == []
    assert ensure_strict_json_schema(dict(strict), _reject_open_objects=True) == strict
    assert "From 1 to 100 characters." in strict["properties"]["batch_id"]["description"]
    jsonschema.validate(
        {"batch_id": None, "confirm": None, "max_items": None, "ids": None, "status": None, "task_type": None}
        | {"filters": None, "search": None},
        strict,
    )


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ({"sort": {"field": "", "direction": "desc"}}, {}),
        ({"sort": {"field": "created_at", "direction": None}}, {"sort": {"field": "created_at"}}),
        ({"filters": '{"AND": [], "OR": [], "NOT": []}'}, {}),
        ({"filters": {"AND": [], "case_sensitive": False}}, {}),
        ({"filters": {"AND": [], "case_sensitive": True}}, {"filters": {"case_sensitive": True}}),
        ({"filters": {"AND": [{"field": "status", "operator": "eq", "value": None}]}}, None),
        ({"limit": 0}, {"limit": 0}),
        ({"offset": 0}, {"offset": 0}),
    ],
)
def test_what_is_blank_and_what_is_a_value(raw: dict[str, Any], kept: dict[str, Any] | None) -> None:
    """A condition's value is required, so null stays (and is refused with advice); zero is a number."""
    assert without_absent(raw, ListTasksArguments) == (raw if kept is None else kept)


def test_offset_zero_with_a_cursor_is_the_cursors_own_start() -> None:
    assert check_list_tasks({"offset": 0, "cursor": "c1"}).offset is None
    with pytest.raises(InvalidArguments, match="not both"):
        check_list_tasks({"offset": 1, "cursor": "c1"})


def test_hostile_depth_is_left_to_the_checks() -> None:
    deep: dict[str, Any] = {"field": "status", "value": "FAILED"}
    for _ in range(MAX_WALK_DEPTH * 2):
        deep = {"AND": [deep], "OR": []}
    pruned = without_absent({"filters": deep}, WaitForTaskArguments)
    assert "OR" not in pruned["filters"]
    with pytest.raises(InvalidArguments, match="nested"):
        check_list_tasks({"filters": deep})


def test_constraints_in_words() -> None:
    assert (
        constraint_words({"minimum": 1, "maximum": 100, "default": 20})
        == "From 1 to 100. Default 20 (send null for it)."
    )
    assert constraint_words({"minLength": 1}) == "Not empty."
    assert constraint_words({"maxItems": 50, "minItems": 1}) == "From 1 to 50 items."
    assert constraint_words({"exclusiveMinimum": 0.0}) == "More than 0."
