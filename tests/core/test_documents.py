"""Failed documents of a partly failed task, read from what the API gives (never parsed out of the error text)."""

from __future__ import annotations

from typing import Any

import pytest

from mixpeek_tasks_mcp.documents import FailedDocuments, failed_documents
from mixpeek_tasks_mcp.models import TaskResponse


def task(**fields: Any) -> TaskResponse:
    return TaskResponse.model_validate({"task_id": "t", "status": "COMPLETED_WITH_ERRORS", **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"additional_data": {"failed_object_count": 6, "object_count": 50}}, FailedDocuments(6, 50)),
        ({"additional_data": {"objects_failed": 3}}, FailedDocuments(3, None)),
        ({"outputs": [{"failed_document_count": 4, "total_documents": 10}]}, FailedDocuments(4, 10)),
        (
            {"outputs": ["obj_1", {"failed_objects": [{"object_id": "a"}, {"object_id": "b"}]}]},
            FailedDocuments(2, None),
        ),
        ({"additional_data": {"success_rate": 88.0, "object_count": 50}}, FailedDocuments(6, 50)),
        # a count beats a (possibly sampled) list; a total smaller than the failures is not believed
        (
            {"additional_data": {"failed_count": 9, "failed_objects": [1, 2], "object_count": 5}},
            FailedDocuments(9, None),
        ),
    ],
)
def test_the_counts_the_api_gives_are_read(fields: dict[str, Any], expected: FailedDocuments) -> None:
    assert failed_documents(task(**fields)) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"error": "6 of 50 objects failed: invalid file format"},
        {"additional_data": {"object_count": 50}},
        {"additional_data": {"success_rate": 140, "object_count": 50}},
        {"additional_data": {"failed_object_count": "many", "success_rate": "high"}},
        {"additional_data": {"failed_object_count": -1}},
        {"outputs": [None, 3, "x"]},
    ],
)
def test_nothing_is_made_up_where_the_api_says_nothing(fields: dict[str, Any]) -> None:
    assert failed_documents(task(**fields)) is None
