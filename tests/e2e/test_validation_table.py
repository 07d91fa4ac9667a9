"""A table of realistic agent mistakes, sent through an MCP client session to the server.

Refusals must name the path, say what is wrong and what to write instead, and send nothing to the API.
Forgivable slips must be normalized: the sandbox's request log shows what actually went out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio

cond = {"field": "status", "operator": "eq", "value": "FAILED"}

REFUSED: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("unknown status", "list_tasks", {"status": "EXPLODED"}, ["status:", "not a task status", "COMPLETED_WITH_ERRORS"]),
    ("several statuses", "list_tasks", {"status": ["FAILED", "CANCELED"]}, ["status:", '"operator": "in"']),
    (
        "task type from prose",
        "list_tasks",
        {"task_type": "BATCH_CONFIRM"},
        ["task_type:", "api_buckets_uploads_batch_confirm"],
    ),
    ("partial task type", "list_tasks", {"task_type": "video"}, ["task_type:", "video_segment"]),
    ("limit too big", "list_tasks", {"limit": 500}, ["limit:", "from 1 to 100", "offset or cursor"]),
    ("limit zero", "list_tasks", {"limit": 0}, ["limit:", "from 1 to 100"]),
    ("limit in words", "list_tasks", {"limit": "twenty"}, ["limit:", "whole number"]),
    ("offset too deep", "list_tasks", {"offset": 20000}, ["offset:", "cursor"]),
    ("offset and cursor", "list_tasks", {"offset": 10, "cursor": "abc"}, ["cursor:", "not both"]),
    ("page_size", "list_tasks", {"page_size": 10}, ["page_size:", "Did you mean 'limit'"]),
    ("page number", "list_tasks", {"page": 2}, ["page:", "offset"]),
    ("filter singular", "list_tasks", {"filter": {"AND": [cond]}}, ["filter:", "Did you mean 'filters'"]),
    ("query for search", "list_tasks", {"query": "thumb"}, ["query:", "search"]),
    (
        "operator in words",
        "list_tasks",
        {"filters": {"AND": [cond, {"field": "additional_data.object_count", "operator": "greater_than", "value": 5}]}},
        ["filters.AND[1].operator:", "Did you mean 'gt'", "Accepted: eq"],
    ),
    (
        "not_in",
        "list_tasks",
        {"filters": {"AND": [{"field": "status", "operator": "not_in", "value": ["FAILED"]}]}},
        ["filters.AND[0].operator", "'nin'"],
    ),
    (
        "startswith",
        "list_tasks",
        {"filters": {"OR": [{"field": "task_id", "operator": "startswith", "value": "a"}]}},
        ["filters.OR[0].operator", "'starts_with'"],
    ),
    (
        "op for operator",
        "list_tasks",
        {"filters": {"AND": [{"field": "status", "op": "eq", "value": "FAILED"}]}},
        ["filters.AND[0].op:", "'operator'"],
    ),
    (
        "missing value",
        "list_tasks",
        {"filters": {"AND": [{"field": "status", "operator": "eq"}]}},
        ["filters.AND[0].value:", "required"],
    ),
    (
        "list with eq",
        "list_tasks",
        {"filters": {"AND": [{"field": "status", "operator": "eq", "value": ["FAILED", "CANCELED"]}]}},
        ["filters.AND[0].value:", "'in'"],
    ),
    (
        "top-level bucket_id",
        "list_tasks",
        {"filters": {"AND": [{"field": "bucket_id", "operator": "eq", "value": "b"}]}},
        ["filters.AND[0].field:", "additional_data.bucket_id"],
    ),
    (
        "field with spaces",
        "list_tasks",
        {"filters": {"AND": [{"field": "additional data.bucket id", "value": "b"}]}},
        ["filters.AND[0].field:", "dot-notation"],
    ),
    (
        "geo on tasks",
        "list_tasks",
        {"filters": {"AND": [{"field": "additional_data.x", "operator": "geo_radius", "value": 5}]}},
        ["filters.AND[0].operator:", "no geo fields"],
    ),
    (
        "bad regex",
        "list_tasks",
        {"filters": {"AND": [{"field": "task_id", "operator": "regex", "value": "(["}]}},
        ["filters.AND[0].value:", "regular expression"],
    ),
    (
        "exists yes",
        "list_tasks",
        {"filters": {"AND": [{"field": "error", "operator": "exists", "value": "yes"}]}},
        ["filters.AND[0].value:", "true or false"],
    ),
    (
        "gt with a boolean",
        "list_tasks",
        {"filters": {"AND": [{"field": "additional_data.object_count", "operator": "gt", "value": True}]}},
        ["filters.AND[0].value:", "number"],
    ),
    (
        "six levels deep",
        "list_tasks",
        {"filters": {"AND": [{"AND": [{"AND": [{"AND": [{"AND": [{"AND": [cond]}]}]}]}]}]}},
        ["filters.AND[0].AND[0].AND[0].AND[0].AND[0]:", "nested 6 levels", "most is 5"],
    ),
    (
        "only empty lists, case_sensitive set",
        "list_tasks",
        {"filters": {"AND": [], "OR": [], "case_sensitive": True}},
        ["filters:", "has no conditions"],
    ),
    ("offset with a cursor, a null beside", "list_tasks", {"offset": 5, "cursor": "abc", "sort": None}, ["not both"]),
    ("AND as text", "list_tasks", {"filters": {"AND": "status=FAILED"}}, ["filters.AND:", "must be a list"]),
    ("string item", "list_tasks", {"filters": {"AND": ["status=FAILED"]}}, ["filters.AND[0]:", "condition object"]),
    (
        "mongo style",
        "list_tasks",
        {"filters": {"additional_data.object_count": {"$gt": 5}}},
        ["filters.additional_data.object_count:", '"operator": "gt"'],
    ),
    (
        "sort direction up",
        "list_tasks",
        {"sort": {"field": "created_at", "direction": "up"}},
        ["sort.direction:", "asc, desc"],
    ),
    ("camelCase sort field", "list_tasks", {"sort": {"field": "createdAt"}}, ["sort.field:", "'created_at'"]),
    (
        "bad status in a list",
        "list_tasks",
        {"filters": {"AND": [{"field": "status", "operator": "in", "value": ["FAILED", "BROKEN"]}]}},
        ["filters.AND[0].value[1]:", "not a task status"],
    ),
    (
        "operator at group level",
        "list_tasks",
        {"filters": {"operator": "eq", "value": "FAILED"}},
        ["filters.operator:", "belongs in a condition"],
    ),
    ("search too long", "list_tasks", {"search": "x" * 300}, ["search:", "most is 200"]),
    ("no task id", "wait_for_task", {"timeout_seconds": 5}, ["task_id:", "required"]),
    (
        "wait too long",
        "wait_for_task",
        {"task_id": "t1", "timeout_seconds": 5000},
        ["timeout_seconds:", "more than this server allows"],
    ),
    ("wait for DONE", "wait_for_task", {"task_id": "t1", "wait_for": ["DONE"]}, ["wait_for[0]:", "not a task status"]),
    (
        "timeout for timeout_seconds",
        "wait_for_task",
        {"task_id": "t1", "timeout": 5},
        ["timeout:", "'timeout_seconds'"],
    ),
    ("negative wait", "wait_for_task", {"task_id": "t1", "timeout_seconds": -1}, ["timeout_seconds:", ">= 0"]),
]


@pytest.mark.parametrize(("name", "tool", "arguments", "expected"), REFUSED, ids=[case[0] for case in REFUSED])
async def test_mistakes_are_refused_with_a_path_and_a_fix_and_nothing_is_sent(
    sandbox: RunningSandbox, settings: Settings, name: str, tool: str, arguments: dict[str, Any], expected: list[str]
) -> None:
    async with session(settings) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error, text
    assert "nothing was sent to Mixpeek" in text
    for fragment in expected:
        assert fragment in text, f"{fragment!r} missing from:\n{text}"
    assert api_requests(sandbox) == []


NORMALIZED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("lower-case status", {"status": "failed"}, {"status": "FAILED"}),
    ("British spelling", {"status": "cancelled"}, {"status": "CANCELED"}),
    (
        "upper-case task type",
        {"task_type": "API_BUCKETS_BATCHES_PROCESS"},
        {"task_type": "api_buckets_batches_process"},
    ),
    (
        "scalar for in",
        {"filters": {"AND": [{"field": "status", "operator": "in", "value": "failed"}]}},
        {"filters": {"AND": [{"field": "status", "operator": "in", "value": ["FAILED"]}]}},
    ),
    (
        "filters as a JSON string",
        {"filters": json.dumps({"OR": [cond]})},
        {"filters": {"OR": [cond]}},
    ),
    ("NOT as one object", {"filters": {"NOT": cond}}, {"filters": {"NOT": [cond]}}),
    ("bare condition", {"filters": cond}, {"filters": {"AND": [cond]}}),
    (
        "symbol operator",
        {"filters": {"and": [{"field": "additional_data.object_count", "operator": ">=", "value": 10}]}},
        {"filters": {"AND": [{"field": "additional_data.object_count", "operator": "gte", "value": 10}]}},
    ),
    ("sort as text", {"sort": "-created_at"}, {"sort": {"field": "created_at", "direction": "desc"}}),
    (
        "empty groups beside a filled one (a strict-mode model fills every key)",
        {"filters": {"AND": [{**cond, "operator": None}], "OR": [], "NOT": [], "case_sensitive": None}},
        {"filters": {"AND": [cond]}},
    ),
]


@pytest.mark.parametrize(("name", "arguments", "expected_body"), NORMALIZED, ids=[case[0] for case in NORMALIZED])
async def test_forgivable_slips_are_normalized_on_the_wire(
    sandbox: RunningSandbox, settings: Settings, name: str, arguments: dict[str, Any], expected_body: dict[str, Any]
) -> None:
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", arguments)
    assert not result.is_error, text_of(result)
    (sent,) = api_requests(sandbox)
    for key, value in expected_body.items():
        assert sent["body"][key] == value
    assert set(sent["body"]) <= {"status", "task_type", "filters", "sort", "search"}


async def test_digit_string_limit_is_sent_as_a_number(sandbox: RunningSandbox, settings: Settings) -> None:
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {"limit": "7"})
    assert not result.is_error
    (sent,) = api_requests(sandbox)
    assert "limit=7" in sent["query"]
    assert result.structured_content is not None
    assert result.structured_content["pagination"]["limit"] == 7
