"""The official mixpeek SDK parses the sandbox's answers (contract test)."""

from __future__ import annotations

from collections.abc import Iterator

import mixpeek
import pytest
from sandbox_dataset import DATASET

from mixpeek_tasks_mcp.sandbox import RunningSandbox


@pytest.fixture
def tasks_api(static_sandbox: RunningSandbox) -> Iterator[mixpeek.TasksApi]:
    configuration = mixpeek.Configuration(host=static_sandbox.base_url, access_token=static_sandbox.api_key)
    with mixpeek.ApiClient(configuration) as api_client:
        yield mixpeek.TasksApi(api_client)


def test_get_task(tasks_api: mixpeek.TasksApi) -> None:
    task = tasks_api.get_task("task_001")
    assert task.task_id == "task_001"
    assert task.status == mixpeek.TaskStatusEnum.FAILED
    assert task.error == DATASET[1]["error"]


def test_list_tasks_with_request_and_paging(tasks_api: mixpeek.TasksApi) -> None:
    request = mixpeek.ListTasksRequest.from_dict(
        {
            "status": "FAILED",
            "filters": {"AND": [{"field": "task_type", "operator": "ne", "value": "thumbnail"}]},
            "sort": {"field": "created_at", "direction": "desc"},
        }
    )
    response = tasks_api.list_tasks(limit=2, offset=1, include_total=True, list_tasks_request=request)
    expected = [t for t in DATASET if t["status"] == "FAILED" and t["task_type"] != "thumbnail"]
    assert response.pagination.total == len(expected)
    assert len(response.results) == 2
    assert all(task.status == mixpeek.TaskStatusEnum.FAILED for task in response.results)


def test_kill_task(tasks_api: mixpeek.TasksApi) -> None:
    result = tasks_api.kill_task("no-such-task")
    assert result.success is True
