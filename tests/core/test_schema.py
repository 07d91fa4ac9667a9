"""The advertised tool schemas: self-contained, complete, accepted by every client, and unchanged."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client

from mixpeek_tasks_mcp.descriptions import MAX_DESCRIPTION
from mixpeek_tasks_mcp.enums import FilterOperator, TaskStatus, TaskType
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "tools_list.json"


async def listed_tools() -> list[dict[str, Any]]:
    async with Client(build_server(Settings(api_key=None))) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def schemas(tool: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(key, tool[key]) for key in ("inputSchema", "outputSchema")]


async def test_tools_list_matches_the_snapshot() -> None:
    tools = await listed_tools()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(tools, indent=2, sort_keys=True) + "\n")
    assert tools == json.loads(SNAPSHOT.read_text()), "tools/list changed: review, then UPDATE_SNAPSHOTS=1"


async def test_schemas_are_self_contained_and_client_safe() -> None:
    for tool in await listed_tools():
        for which, schema in schemas(tool):
            assert schema["type"] == "object", (tool["name"], which)
            for key in ("anyOf", "oneOf", "allOf"):
                assert key not in schema, f"top-level {key} in {tool['name']} {which}"
            for path, node in walk(schema):
                if not isinstance(node, dict):
                    continue
                if path.endswith(".properties"):
                    continue  # property names, not schema keywords
                assert "$ref" not in node and "$defs" not in node, path
                assert "title" not in node, path
                assert "oneOf" not in node, path
                assert node != {}, f"bare {{}} at {path}"
                assert {"type": "null"} not in node.get("anyOf", []), f"nullable union at {path}"
                if node.get("type") == "array":
                    assert "items" in node, f"array without items at {path}"
                if which == "inputSchema":
                    assert "additionalProperties" not in node, path


async def test_every_enum_is_complete() -> None:
    tools = {tool["name"]: tool for tool in await listed_tools()}
    enums = [
        node["enum"]
        for _, node in walk(tools["list_tasks"]["inputSchema"])
        if isinstance(node, dict) and "enum" in node
    ]
    assert [s.value for s in TaskStatus] in enums
    assert [t.value for t in TaskType] in enums
    assert [o.value for o in FilterOperator] in enums
    assert len(TaskStatus) == 16 and len(TaskType) == 38 and len(FilterOperator) == 20
    wait_enums = [
        node["enum"]
        for _, node in walk(tools["wait_for_task"]["inputSchema"])
        if isinstance(node, dict) and "enum" in node
    ]
    assert [s.value for s in TaskStatus] in wait_enums


async def test_triage_selects_tasks_exactly_as_list_tasks_does() -> None:
    tools = {tool["name"]: tool for tool in await listed_tools()}
    listing, triage = tools["list_tasks"]["inputSchema"], tools["triage_tasks"]["inputSchema"]
    for name in ("status", "task_type", "filters", "search"):
        assert triage["properties"][name] == listing["properties"][name], name
    assert triage["properties"]["max_tasks"]["maximum"] == 10_000


async def test_titles_annotations_and_descriptions_are_actionable() -> None:
    for tool in await listed_tools():
        assert tool["title"]
        annotations = tool["annotations"]
        assert annotations["readOnlyHint"] is True
        assert annotations["idempotentHint"] is True
        assert annotations["openWorldHint"] is True
        assert annotations["destructiveHint"] is False
        assert "Examples:" in tool["description"]
        assert "COMPLETED_WITH_ERRORS" in tool["description"]


async def test_documented_examples_validate_against_the_advertised_schema() -> None:
    tools = {tool["name"]: tool for tool in await listed_tools()}
    examples = {
        "list_tasks": [
            {"status": "FAILED"},
            {
                "task_type": "api_buckets_batches_process",
                "filters": {
                    "AND": [
                        {"field": "status", "operator": "in", "value": ["FAILED", "CANCELED"]},
                        {"OR": [{"field": "additional_data.bucket_id", "operator": "eq", "value": "b"}]},
                    ]
                },
                "sort": {"field": "created_at", "direction": "asc"},
                "limit": 50,
                "offset": 50,
            },
        ],
        "wait_for_task": [{"task_id": "t1"}, {"task_id": "t1", "timeout_seconds": 0, "wait_for": ["IN_PROGRESS"]}],
        "triage_tasks": [
            {},
            {"task_type": "api_buckets_batches_process", "status": "FAILED", "max_tasks": 10_000},
            {"filters": {"AND": [{"field": "error", "operator": "contains", "value": "size limit"}]}, "search": "x"},
        ],
    }
    for name, cases in examples.items():
        for arguments in cases:
            jsonschema.validate(arguments, tools[name]["inputSchema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"status": "EXPLODED"}, tools["list_tasks"]["inputSchema"])


async def test_every_object_in_every_schema_has_properties() -> None:
    """Gemini's OpenAPI subset turns a bare {"type": "object"} into a property-less OBJECT, which it rejects."""
    for tool in await listed_tools():
        for which, schema in schemas(tool):
            for path, node in walk(schema):
                if not isinstance(node, dict) or path.endswith(".properties"):
                    continue
                if node.get("type") == "object":
                    assert node.get("properties"), f"object without properties at {tool['name']} {which} {path}"


async def test_nested_groups_still_validate_against_the_advertised_schema() -> None:
    tools = {tool["name"]: tool for tool in await listed_tools()}
    condition = {"field": "additional_data.object_count", "operator": "in", "value": [1, 2]}
    deep = {"AND": [{"OR": [condition, {"NOT": [{"AND": [condition]}], "case_sensitive": True}]}]}
    jsonschema.validate({"filters": deep}, tools["list_tasks"]["inputSchema"])


async def test_every_description_stays_ten_percent_under_the_clients_limit() -> None:
    """Some OpenAI-based clients still cut tool descriptions at 1,024 characters; 921 leaves room for the next
    sentence anyone adds (wait_for_task's was exactly 1,024)."""
    assert MAX_DESCRIPTION == 921
    for tool in await listed_tools():
        assert len(tool["description"]) <= MAX_DESCRIPTION, (tool["name"], len(tool["description"]))
