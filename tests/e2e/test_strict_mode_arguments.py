"""Every field filled the way a strict-mode model fills it, through an MCP client session, on both profiles.

A model under OpenAI strict function calling (or any host that makes it fill every property) writes null, an
empty string, an empty list or a zero for what it means to leave out. Each call here is built from the schema the
server advertised for the profile: the arguments a caller means, plus every other property filled "blank". The
filled call must be accepted and answered exactly as the call without those fields, and send the same requests.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import jsonschema
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio

Style = Literal["nulls", "empties"]
PROFILES = ("default", "openai-strict")
STYLES: tuple[Style, ...] = ("nulls", "empties")
NULL = {"type": "null"}
IN_FAILED = {"field": "status", "operator": "in", "value": ["FAILED", "CANCELED"]}


def _options(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [option for option in node.get("anyOf", [node]) if option != NULL]


def _object_option(node: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    objects = [option for option in _options(node) if option.get("type") == "object"]
    return max(objects, key=lambda option: sum(1 for key in given if key in option.get("properties", {})))


def blank(node: dict[str, Any], style: Style) -> Any:
    """What a model writes for a property it must fill but means to leave out."""
    nullable = NULL in node.get("anyOf", [])
    option = _options(node)[0]
    kind = option.get("type")
    if style == "nulls" or ("enum" in option and "default" not in option):
        return None
    if "default" in option:
        return option["default"]
    if kind == "array":
        return []
    if kind == "string":
        return ""
    if kind == "object":
        return fill(option, {}, style)
    if nullable or kind == "boolean":
        return None if nullable else False
    return 0  # a number without a default: offset


def fill(node: dict[str, Any], given: dict[str, Any], style: Style) -> dict[str, Any]:
    """``given``, with every property of its schema that it leaves out filled blank, at every depth."""
    shape = _object_option(node, given)
    result: dict[str, Any] = {}
    for name, sub in shape["properties"].items():
        if name not in given:
            result[name] = blank(sub, style)
            continue
        value = given[name]
        if isinstance(value, dict):
            value = fill(sub, value, style)
        elif isinstance(value, list):
            arrays = [option for option in _options(sub) if option.get("type") == "array"]
            items = arrays[0]["items"] if arrays else {}
            value = [fill(items, item, style) if isinstance(item, dict) and items else item for item in value]
        result[name] = value
    return result


def comparable(result: Any) -> tuple[str, Any]:
    """The answer without what differs between two identical calls a moment apart (elapsed times)."""
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<now>", text_of(result))  # the clock ages are given against
    text = re.sub(r"\b\d+(\.\d+)? ?[smhd]\b", "<t>", text)  # elapsed times and ages
    structured = dict(result.structured_content or {})
    structured.pop("waited_seconds", None)
    structured.pop("seen_after_seconds", None)
    for line in structured.get("tasks") or []:
        if isinstance(line, dict):
            line.pop("seen_after_seconds", None)
    return text, structured


def sent(sandbox: RunningSandbox) -> list[tuple[Any, Any, Any]]:
    """The API calls made, as (method, path, body)."""
    return [(entry.get("method"), entry.get("path"), entry.get("body")) for entry in api_requests(sandbox)]


async def answers_the_same(
    sandbox: RunningSandbox,
    settings: Settings,
    profile: str,
    tool: str,
    given: dict[str, Any],
    style: Style,
    **blanks_written: Any,
) -> dict[str, Any]:
    """Call ``tool`` with ``given``, then with every other field filled blank (``blanks_written``: as the model
    wrote them); both answers must be equal."""
    settings = settings.model_copy(update={"schema_profile": profile})
    async with session(settings) as client:
        schema = next(t for t in (await client.list_tools()).tools if t.name == tool).input_schema
        filled = {**fill(schema, given, style), **blanks_written}
        assert set(filled) == set(schema["properties"])
        if profile == "openai-strict":
            jsonschema.validate(filled, schema)  # what a strict model is held to
        sandbox.clear_requests()
        plain = await client.call_tool(tool, given)
        plain_requests = sent(sandbox)
        sandbox.clear_requests()
        blanks = await client.call_tool(tool, filled)
        blank_requests = sent(sandbox)
    assert not plain.is_error, text_of(plain)
    assert not blanks.is_error, f"{filled}\n{text_of(blanks)}"
    assert comparable(blanks) == comparable(plain)
    assert blank_requests == plain_requests
    return filled


LIST_CASES = [
    {"status": "FAILED", "limit": 5},
    {"filters": {"AND": [IN_FAILED]}, "sort": {"field": "created_at", "direction": "asc"}, "limit": 3},
    {"task_type": "api_buckets_batches_process", "search": "batches"},
]
TRIAGE_CASES = [{"status": "FAILED"}, {"filters": {"OR": [IN_FAILED]}, "max_tasks": 50}]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("given", LIST_CASES, ids=["status", "filters-sort", "type-search"])
async def test_list_tasks_with_every_field_filled(
    sandbox: RunningSandbox, settings: Settings, profile: str, style: Style, given: dict[str, Any]
) -> None:
    filled = await answers_the_same(sandbox, settings, profile, "list_tasks", given, style)
    if "filters" in given:
        assert set(filled["filters"]) == {"AND", "OR", "NOT", "case_sensitive"}  # the empty groups were sent


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("profile", PROFILES)
async def test_list_tasks_next_page_by_cursor_with_offset_zero(
    sandbox: RunningSandbox, settings: Settings, profile: str, style: Style
) -> None:
    """offset 0 is where the cursor's page starts anyway: no "not both" refusal."""
    async with session(settings) as client:
        first = await client.call_tool("list_tasks", {"limit": 5})
    cursor = (first.structured_content or {})["pagination"]["next_cursor"]
    assert cursor
    await answers_the_same(sandbox, settings, profile, "list_tasks", {"cursor": cursor}, style, offset=0)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("given", TRIAGE_CASES, ids=["status", "filters-max"])
async def test_triage_tasks_with_every_field_filled(
    sandbox: RunningSandbox, settings: Settings, profile: str, style: Style, given: dict[str, Any]
) -> None:
    await answers_the_same(sandbox, settings, profile, "triage_tasks", given, style)


async def finished_task_ids(settings: Settings, count: int) -> list[str]:
    async with session(settings) as client:
        listing = await client.call_tool("list_tasks", {"status": "COMPLETED", "limit": count})
    return [row["task_id"] for row in (listing.structured_content or {})["tasks"]]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("what", ["task_id", "task_ids", "selection"])
async def test_wait_for_task_with_every_field_filled(
    sandbox: RunningSandbox, settings: Settings, profile: str, style: Style, what: str
) -> None:
    """task_id: null beside task_ids, task_ids: [] beside task_id, a null selection beside either: no conflict."""
    first, second = await finished_task_ids(settings, 2)
    calls: dict[str, dict[str, Any]] = {
        "task_id": {"task_id": first},
        "task_ids": {"task_ids": [first, second], "until": "any"},
        "selection": {"status": "FAILED", "until": "none_active"},
    }
    given = calls[what]
    filled = await answers_the_same(sandbox, settings, profile, "wait_for_task", given, style)
    if what == "task_ids":
        assert filled["task_id"] in (None, "")


@pytest.mark.parametrize("profile", PROFILES)
async def test_what_still_conflicts_is_refused_as_before(
    sandbox: RunningSandbox, settings: Settings, profile: str
) -> None:
    """Blanks are absent, but values that are there still meet the same checks."""
    settings = settings.model_copy(update={"schema_profile": profile})
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("list_tasks", {"offset": 5, "cursor": "abc", "status": None, "filters": None}, "not both"),
        ("list_tasks", {"limit": 500, "sort": None}, "from 1 to 100"),
        ("list_tasks", {"filters": {"AND": [], "OR": [], "NOT": [], "case_sensitive": True}}, "has no conditions"),
        ("wait_for_task", {"task_id": "t1", "task_ids": ["t2"], "status": None}, "not task_id and task_ids"),
        ("triage_tasks", {"timeout_seconds": 0, "status": None}, "timeout_seconds"),
    ]
    sandbox.clear_requests()
    async with session(settings) as client:
        for tool, arguments, expected in cases:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, arguments)
            assert expected in text_of(result), text_of(result)
    assert api_requests(sandbox) == []
