"""Filters over HTTP, checked against expected sets computed here in plain Python."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sandbox_dataset import BASE_TIME, DATASET, iso

Task = dict[str, Any]


def ad(task: Task) -> dict[str, Any]:
    return task.get("additional_data") or {}


def cond(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


CUTOFF = BASE_TIME + timedelta(hours=10)

CASES: list[tuple[str, dict[str, Any], Callable[[Task], bool]]] = [
    ("eq status", {"AND": [cond("status", "eq", "FAILED")]}, lambda t: t["status"] == "FAILED"),
    ("eq is case-insensitive by default", {"AND": [cond("status", "eq", "failed")]}, lambda t: t["status"] == "FAILED"),
    (
        "eq case_sensitive true",
        {"AND": [cond("status", "eq", "failed")], "case_sensitive": True},
        lambda t: t["status"] == "failed",
    ),
    ("ne task_type", {"AND": [cond("task_type", "ne", "thumbnail")]}, lambda t: t["task_type"] != "thumbnail"),
    (
        "gt number in additional_data",
        {"AND": [cond("additional_data.object_count", "gt", 30)]},
        lambda t: is_num(ad(t).get("object_count")) and ad(t)["object_count"] > 30,
    ),
    (
        "lte created_at (ISO)",
        {"AND": [cond("created_at", "lte", iso(CUTOFF))]},
        lambda t: t["created_at"] <= iso(CUTOFF),
    ),
    (
        "gte created_at (epoch seconds)",
        {"AND": [cond("created_at", "gte", CUTOFF.timestamp())]},
        lambda t: t["created_at"] >= iso(CUTOFF),
    ),
    (
        "in status",
        {"AND": [cond("status", "in", ["FAILED", "CANCELED"])]},
        lambda t: t["status"] in ("FAILED", "CANCELED"),
    ),
    (
        "nin task_type",
        {"AND": [cond("task_type", "nin", ["thumbnail", "engine_cluster_build"])]},
        lambda t: t["task_type"] not in ("thumbnail", "engine_cluster_build"),
    ),
    (
        "contains (case-insensitive)",
        {"AND": [cond("error", "contains", "oomkilled")]},
        lambda t: "oomkilled" in (t.get("error") or "").lower(),
    ),
    (
        "starts_with task_id",
        {"AND": [cond("task_id", "starts_with", "task_01")]},
        lambda t: t["task_id"].startswith("task_01"),
    ),
    (
        "ends_with nested field",
        {"AND": [cond("additional_data.bucket_id", "ends_with", "ACTS")]},
        lambda t: str(ad(t).get("bucket_id", "")).lower().endswith("acts"),
    ),
    (
        "regex",
        {"AND": [cond("task_id", "regex", r"^task_0[0-2]5$")]},
        lambda t: t["task_id"] in ("task_005", "task_015", "task_025"),
    ),
    (
        "exists true",
        {"AND": [cond("additional_data.bucket_id", "exists", True)]},
        lambda t: "bucket_id" in ad(t),
    ),
    (
        "exists false on a key that is null when present",
        {"AND": [cond("additional_data.note", "exists", False)]},
        lambda t: "note" not in ad(t),
    ),
    (
        "is_null true (missing or null)",
        {"AND": [cond("additional_data.note", "is_null", True)]},
        lambda t: ad(t).get("note") is None,
    ),
    (
        "text",
        {"AND": [cond("error", "text", "ACCESS DENIED")]},
        lambda t: "access denied" in (t.get("error") or "").lower(),
    ),
    (
        "phrase",
        {"AND": [cond("error", "phrase", "expected pdf got png")]},
        lambda t: (t.get("error") or "").startswith("Invalid file format"),
    ),
    ("phrase out of order", {"AND": [cond("error", "phrase", "denied access")]}, lambda t: False),
    (
        "words (whole words, any order)",
        {"AND": [cond("error", "words", "failed ray")]},
        lambda t: "Ray job" in (t.get("error") or ""),
    ),
    (
        "OR",
        {"OR": [cond("status", "eq", "FAILED"), cond("additional_data.object_count", "gte", 45)]},
        lambda t: t["status"] == "FAILED" or (is_num(ad(t).get("object_count")) and ad(t)["object_count"] >= 45),
    ),
    (
        "NOT: none may match",
        {"NOT": [cond("status", "eq", "COMPLETED"), cond("status", "eq", "CANCELED")]},
        lambda t: t["status"] not in ("COMPLETED", "CANCELED"),
    ),
    (
        "nested AND/OR/NOT",
        {
            "AND": [
                {"OR": [cond("task_type", "eq", "thumbnail"), cond("task_type", "eq", "engine_cluster_build")]},
                {"NOT": [cond("additional_data.namespace_id", "eq", "ns_a")]},
            ]
        },
        lambda t: t["task_type"] in ("thumbnail", "engine_cluster_build") and ad(t).get("namespace_id") != "ns_a",
    ),
    (
        "shorthand equality",
        {"additional_data.namespace_id": "NS_A"},
        lambda t: ad(t).get("namespace_id") == "ns_a",
    ),
    (
        "case-insensitive eq on a nested string",
        {"AND": [cond("additional_data.bucket_id", "eq", "bkt_contracts")]},
        lambda t: ad(t).get("bucket_id") == "bkt_Contracts",
    ),
    (
        "case-sensitive eq on a nested string",
        {"AND": [cond("additional_data.bucket_id", "eq", "bkt_contracts")], "case_sensitive": True},
        lambda t: False,
    ),
    (
        "boolean eq",
        {"AND": [cond("additional_data.priority_flag", "eq", True)]},
        lambda t: ad(t).get("priority_flag") is True,
    ),
    (
        "types never mix: a string does not equal a number",
        {"AND": [cond("additional_data.object_count", "eq", "13")]},
        lambda t: False,
    ),
    (
        "ne matches missing fields",
        {"AND": [cond("additional_data.bucket_id", "ne", "bkt_products")]},
        lambda t: ad(t).get("bucket_id") != "bkt_products",
    ),
    (
        "empty in list matches nothing",
        {"AND": [cond("status", "in", [])]},
        lambda t: False,
    ),
]


def listed_ids(client: httpx2.Client, body: dict[str, Any]) -> list[str]:
    response = client.post("/v1/tasks/list", params={"limit": 1000}, json=body)
    assert response.status_code == 200, response.text
    return [task["task_id"] for task in response.json()["results"]]


@pytest.mark.parametrize(("name", "filters", "predicate"), CASES, ids=[case[0] for case in CASES])
def test_filter_table(
    client: httpx2.Client, name: str, filters: dict[str, Any], predicate: Callable[[Task], bool]
) -> None:
    expected = {task["task_id"] for task in DATASET if predicate(task)}
    got = listed_ids(client, {"filters": filters})
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_top_level_status_type_and_filters_combine(client: httpx2.Client) -> None:
    body = {
        "status": "FAILED",
        "task_type": "api_buckets_objects_create",
        "filters": {"AND": [cond("additional_data.bucket_id", "exists", True)]},
    }
    expected = {
        t["task_id"]
        for t in DATASET
        if t["status"] == "FAILED" and t["task_type"] == "api_buckets_objects_create" and "bucket_id" in ad(t)
    }
    assert set(listed_ids(client, body)) == expected


def test_condition_level_case_sensitive_as_the_sdk_sends_it(client: httpx2.Client) -> None:
    body = {"filters": {"AND": [{**cond("status", "eq", "failed"), "case_sensitive": True}], "case_sensitive": False}}
    assert listed_ids(client, body) == []
    body["filters"]["AND"][0]["case_sensitive"] = False
    assert set(listed_ids(client, body)) == {t["task_id"] for t in DATASET if t["status"] == "FAILED"}


@pytest.mark.parametrize("operator", ["geo_radius", "geo_bounding_box", "geo_polygon"])
def test_geo_operators_are_refused(client: httpx2.Client, operator: str) -> None:
    response = client.post("/v1/tasks/list", json={"filters": {"AND": [cond("status", operator, "x")]}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "BadRequestError"
    assert "geo" in error["message"]


@pytest.mark.parametrize(
    "condition",
    [
        cond("status", "in", "FAILED"),
        cond("status", "exists", "yes"),
        cond("task_id", "regex", "("),
        cond("created_at", "gt", "yesterday"),
        cond("additional_data.bad-key", "eq", "x"),
        cond("status", "contains", 5),
    ],
)
def test_bad_condition_values_are_422(client: httpx2.Client, condition: dict[str, Any]) -> None:
    response = client.post("/v1/tasks/list", json={"filters": {"AND": [condition]}})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["type"] == "ValidationError"
    assert body["error"]["details"]["validation_errors"][0]["location"][:3] == ["body", "filters", "AND"]
