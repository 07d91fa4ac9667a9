"""Hostile and ambiguous arguments through a real MCP session: a bounded refusal naming the path, nothing sent."""

from __future__ import annotations

from typing import Any

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio

MAX_REFUSAL = 2000
DEEP = "[" * 1200 + "]" * 1200
DEEP_GROUP = '{"AND": [' * 1200 + "1" + "]}" * 1200
MEGABYTE = "x" * 1_000_000


def condition(operator: str, value: Any, field: str = "task_id") -> dict[str, Any]:
    return {"filters": {"AND": [{"field": field, "operator": operator, "value": value}]}}


HOSTILE: list[tuple[str, str, dict[str, Any], str]] = [
    ("deep filters text", "list_tasks", {"filters": DEEP_GROUP}, "filters:"),
    ("deep filters list", "list_tasks", {"filters": DEEP}, "filters:"),
    ("deep sort text", "list_tasks", {"sort": DEEP}, "sort:"),
    ("deep wait_for text", "wait_for_task", {"task_id": "t1", "wait_for": DEEP}, "wait_for:"),
    ("deep in value", "list_tasks", condition("in", DEEP), "filters.AND[0].value:"),
    ("deep nin value", "list_tasks", condition("nin", DEEP), "filters.AND[0].value:"),
    ("deep OR item", "list_tasks", {"filters": {"OR": [DEEP_GROUP]}}, "filters.OR[0]:"),
    ("regex of 3000 (", "list_tasks", condition("regex", "(" * 3000), "filters.AND[0].value:"),
    ("regex nested 400 (", "list_tasks", condition("regex", "(" * 400 + ")" * 400), "filters.AND[0].value:"),
    ("huge regex repeat", "list_tasks", condition("regex", "a{99999999999}"), "filters.AND[0].value:"),
    ("5000-digit limit", "list_tasks", {"limit": "9" * 5000}, "limit:"),
    ("5000-digit offset", "list_tasks", {"offset": "9" * 5000}, "offset:"),
    ("huge integer offset", "list_tasks", {"offset": 10**5000}, "offset:"),
    ("megabyte status", "list_tasks", {"status": MEGABYTE}, "status:"),
    ("megabyte argument name", "list_tasks", {MEGABYTE: 1}, "list_tasks has no argument"),
    ("megabyte filter key", "list_tasks", {"filters": {MEGABYTE: 1}}, "filters["),
    ("megabyte task id", "wait_for_task", {"task_id": MEGABYTE}, "task_id:"),
    ("10k statuses in", "list_tasks", condition("in", ["BROKEN"] * 10_000, "status"), "filters.AND[0].value:"),
    ("10k ids in", "list_tasks", condition("in", ["x"] * 10_000), "filters.AND[0].value:"),
    ("limit 1e308", "list_tasks", {"limit": 1e308}, "limit:"),
    ("timeout 1e308", "wait_for_task", {"task_id": "t1", "timeout_seconds": 1e308}, "timeout_seconds:"),
    ("10k wait_for", "wait_for_task", {"task_id": "t1", "wait_for": ["DONE"] * 10_000}, "wait_for:"),
    ("many bad conditions", "list_tasks", {"filters": {"AND": [{"field": "x" * 500}] * 500}}, "filters.AND[0]"),
]


@pytest.mark.parametrize(("name", "tool", "arguments", "path"), HOSTILE, ids=[case[0] for case in HOSTILE])
async def test_hostile_arguments_get_a_short_refusal_naming_the_path(
    sandbox: RunningSandbox, settings: Settings, name: str, tool: str, arguments: dict[str, Any], path: str
) -> None:
    async with session(settings) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error
    assert "refused these arguments (nothing was sent to Mixpeek)" in text, text[:500]
    assert path in text, text[:500]
    assert len(text) <= MAX_REFUSAL, len(text)
    assert "Traceback" not in text and "xxxxxxxxxx" * 10 not in text
    assert api_requests(sandbox) == []


async def test_timeout_over_the_cap_is_printed_as_given(sandbox: RunningSandbox, settings: Settings) -> None:
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": "t1", "timeout_seconds": 600.0001})
    assert result.is_error
    assert "600.0001 is more than this server allows (600 s)" in text_of(result)
    assert api_requests(sandbox) == []


@pytest.mark.parametrize(
    ("tool", "arguments", "path"),
    [
        ("list_tasks", {"status": "RUNNING"}, "status:"),
        ("list_tasks", {"status": "running"}, "status:"),
        ("list_tasks", condition("eq", "Running", "status"), "filters.AND[0].value:"),
        ("list_tasks", condition("in", ["FAILED", "RUNNING"], "status"), "filters.AND[0].value[1]:"),
        ("list_tasks", {"filters": {"status": "running"}}, "filters.status:"),
        ("wait_for_task", {"task_id": "t1", "wait_for": ["RUNNING"]}, "wait_for[0]:"),
    ],
)
async def test_running_is_refused_naming_both_statuses_it_could_mean(
    sandbox: RunningSandbox, settings: Settings, tool: str, arguments: dict[str, Any], path: str
) -> None:
    async with session(settings) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error, text
    assert path in text and "IN_PROGRESS" in text and "PROCESSING" in text, text
    assert '"operator": "in", "value": ["IN_PROGRESS", "PROCESSING"]' in text
    assert api_requests(sandbox) == []


async def test_unambiguous_aliases_still_normalize(sandbox: RunningSandbox, settings: Settings) -> None:
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {"status": "in progress", "limit": 1})
    assert not result.is_error, text_of(result)
    (sent,) = api_requests(sandbox)
    assert sent["body"]["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    "condition_",
    [
        {"field": "description", "operator": "contains", "value": "tier"},
        {"field": "additional_data.sample_object_ids", "operator": "exists", "value": True},
    ],
)
async def test_fields_of_the_documented_task_response_are_accepted(
    sandbox: RunningSandbox, settings: Settings, condition_: dict[str, Any]
) -> None:
    async with session(settings) as client:
        result = await client.call_tool("list_tasks", {"filters": {"AND": [condition_]}, "limit": 1})
    assert not result.is_error, text_of(result)
    (sent,) = api_requests(sandbox)
    assert sent["body"]["filters"] == {"AND": [condition_]}
