"""Wire models: strict requests, tolerant responses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mixpeek_tasks_mcp.arguments import ListTasksArguments
from mixpeek_tasks_mcp.models import ListTasksRequest, ListTasksResponse, TaskResponse


def test_request_body_has_declared_keys_only_and_no_nulls() -> None:
    request = ListTasksRequest.model_validate(
        {"status": "FAILED", "filters": {"AND": [{"field": "task_id", "value": "t1"}], "additional_data.batch_id": "b"}}
    )
    assert request.to_body() == {
        "status": "FAILED",
        "filters": {"AND": [{"field": "task_id", "operator": "eq", "value": "t1"}], "additional_data.batch_id": "b"},
    }


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 5},
        {"status": "failed"},
        {"task_type": "API_NAMESPACES_CREATE"},
        {"filters": {"AND": [{"field": "a", "operator": "greater_than", "value": 1}]}},
        {"filters": {"AND": [{"field": "a", "value": 1, "extra": True}]}},
        {"filters": {"AND": [{"AND": [{"AND": [{"AND": [{"AND": [{"AND": [{"field": "a", "value": 1}]}]}]}]}]}]}},
        {"sort": {"field": "created_at", "direction": "down"}},
        {"filters": {"x.y": {"gt": 1}}},
    ],
)
def test_request_models_are_strict(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ListTasksRequest.model_validate(body)


def test_paging_arguments_exclude_each_other() -> None:
    with pytest.raises(ValidationError):
        ListTasksArguments.model_validate({"offset": 1, "cursor": "c"})
    assert ListTasksArguments().api_request().to_body() == {"sort": {"field": "created_at", "direction": "desc"}}


def test_responses_keep_whatever_the_api_sends() -> None:
    task = TaskResponse.model_validate(
        {
            "task_id": 123,
            "task_type": "api_brand_new_type",
            "status": "HIBERNATING",
            "inputs": "btch_1",
            "additional_data": "not a dict",
            "error": {"code": 7},
            "queue_position": "soon",
            "new_field": [1, 2],
        }
    )
    assert (task.task_id, task.task_type, task.status) == ("123", "api_brand_new_type", "HIBERNATING")
    assert task.inputs == ["btch_1"]
    assert task.additional_data == {"value": "not a dict"}
    assert task.error_text() == "{'code': 7}"
    assert task.model_extra == {"new_field": [1, 2]}


def test_error_text_falls_back_to_the_older_names() -> None:
    assert TaskResponse.model_validate({"task_id": "t", "error_message": "old"}).error_text() == "old"
    nested = {"task_id": "t", "additional_data": {"error": "deep"}}
    assert TaskResponse.model_validate(nested).error_text() == "deep"
    assert TaskResponse.model_validate({"task_id": "t", "status": None}).status == "UNKNOWN"


def test_a_list_response_without_pagination_still_parses() -> None:
    response = ListTasksResponse.model_validate({"results": [{"task_id": "t"}]})
    assert response.pagination.total is None and response.results[0].task_type == "unknown"
