"""Pagination (limit/page_size, offset, page, cursors, include_total), sorting and search."""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest
from sandbox_dataset import DATASET


def by_created(descending: bool = False) -> list[str]:
    ordered = sorted(DATASET, key=lambda t: (t["created_at"], t["task_id"]), reverse=descending)
    return [t["task_id"] for t in ordered]


def page(client: httpx2.Client, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    response = client.post("/v1/tasks/list", params=params, json=body if body is not None else {})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [task["task_id"] for task in result["results"]]


def test_default_limit_is_10_and_totals_are_off(client: httpx2.Client) -> None:
    result = page(client)
    assert len(result["results"]) == 10
    pagination = result["pagination"]
    assert pagination["total"] is None and pagination["total_pages"] is None
    assert pagination["page"] == 1 and pagination["page_size"] == 10
    assert pagination["next_page"] == "2" and pagination["previous_page"] is None
    assert pagination["next_cursor"]


def test_include_total(client: httpx2.Client) -> None:
    result = page(client, {"status": "FAILED"}, limit=2, include_total="true")
    expected = sum(1 for t in DATASET if t["status"] == "FAILED")
    assert result["pagination"]["total"] == expected
    assert result["pagination"]["total_pages"] == math.ceil(expected / 2)
    assert page(client, limit=2, include_total="false")["pagination"]["total"] is None
    empty = page(client, {"search": "no-such-task"}, include_total="true")
    assert empty["pagination"]["total"] == 0 and empty["results"] == []


def test_offset_and_page(client: httpx2.Client) -> None:
    sort = {"sort": {"field": "created_at", "direction": "asc"}}
    expected = by_created()[14:21]
    assert ids(page(client, sort, limit=7, offset=14)) == expected
    result = page(client, sort, limit=7, page=3)
    assert ids(result) == expected
    assert result["pagination"]["page"] == 3
    assert result["pagination"]["previous_page"] == "2" and result["pagination"]["next_page"] == "4"


def test_page_size_alias_and_limit_wins(client: httpx2.Client) -> None:
    assert len(page(client, page_size=4)["results"]) == 4
    assert len(page(client, page_size=4, limit=6)["results"]) == 6


def test_last_page_has_no_next_cursor(client: httpx2.Client) -> None:
    result = page(client, limit=10, offset=35)
    assert len(result["results"]) == 5
    assert result["pagination"]["next_cursor"] is None and result["pagination"]["next_page"] is None


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("alias", ["cursor", "next_cursor", "after"])
def test_cursor_walk_covers_every_task_once(client: httpx2.Client, direction: str, alias: str) -> None:
    body = {"sort": {"field": "created_at", "direction": direction}}
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 6}
    for _ in range(20):
        result = page(client, body, **params)
        seen += ids(result)
        cursor = result["pagination"]["next_cursor"]
        if cursor is None:
            break
        params = {"limit": 6, alias: cursor}
    assert seen == by_created(descending=direction == "desc")


def test_cursor_walk_on_a_json_sort_key_with_nulls(client: httpx2.Client) -> None:
    body = {"sort": {"field": "additional_data.object_count", "direction": "desc"}}
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        result = page(client, body, **params)
        seen += ids(result)
        if result["pagination"]["next_cursor"] is None:
            break
        params = {"limit": 7, "cursor": result["pagination"]["next_cursor"]}
    with_count = [t for t in DATASET if (t.get("additional_data") or {}).get("object_count") is not None]
    without = [t for t in DATASET if t not in with_count]
    expected = sorted(with_count, key=lambda t: (t["additional_data"]["object_count"], t["task_id"]), reverse=True)
    expected += sorted(without, key=lambda t: t["task_id"], reverse=True)
    assert seen == [t["task_id"] for t in expected]


def test_cursor_with_another_filter_is_400(client: httpx2.Client) -> None:
    cursor = page(client, {"status": "COMPLETED"}, limit=2)["pagination"]["next_cursor"]
    response = client.post("/v1/tasks/list", params={"cursor": cursor}, json={"status": "FAILED"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequestError"
    garbage = client.post("/v1/tasks/list", params={"cursor": "not-a-cursor!!"}, json={})
    assert garbage.status_code == 400


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"page_size": 0}, {"offset": -1}, {"offset": 10001}, {"page": 0}, {"limit": "ten"}],
)
def test_out_of_range_query_params_are_422(client: httpx2.Client, params: dict[str, Any]) -> None:
    response = client.post("/v1/tasks/list", params=params, json={})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"]["validation_errors"][0]["location"] == ["query", next(iter(params))]


def test_sort_directions_and_defaults(client: httpx2.Client) -> None:
    assert ids(page(client, {"sort": {"field": "created_at", "direction": "desc"}}, limit=40)) == by_created(True)
    assert ids(page(client, {"sort": {"field": "created_at", "direction": "asc"}}, limit=40)) == by_created()
    assert ids(page(client, {"sort": {"field": "created_at"}}, limit=40)) == by_created(), "direction defaults to asc"
    assert ids(page(client, {}, limit=40)) == by_created(), "no sort: created_at ascending"
    by_id = sorted(t["task_id"] for t in DATASET)
    assert ids(page(client, {"sort": {"field": "task_id", "direction": "desc"}}, limit=40)) == by_id[::-1]


@pytest.mark.parametrize(
    ("term", "predicate"),
    [
        ("failed", lambda t: "failed" in t["status"].lower()),
        ("BUCKETS", lambda t: "buckets" in t["task_type"]),
        ("task_01", lambda t: t["task_id"].startswith("task_01")),
        ("_WITH_", lambda t: "_with_" in t["status"].lower()),
    ],
)
def test_search_matches_id_type_and_status(client: httpx2.Client, term: str, predicate: Any) -> None:
    expected = {t["task_id"] for t in DATASET if predicate(t)}
    assert set(ids(page(client, {"search": term}, limit=100))) == expected
