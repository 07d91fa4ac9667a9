"""The advertised tools per schema profile, and a walk over their schema nodes (not over property-name maps)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import anyio
from mcp import Client

from mixpeek_tasks_mcp.schema_profiles import SCHEMA_PROFILES, SchemaProfile
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings

PROFILES = SCHEMA_PROFILES


async def listed_tools_async(profile: SchemaProfile = "default") -> list[dict[str, Any]]:
    """tools/list through a real client session, as a host receives it."""
    async with Client(build_server(Settings(api_key=None, schema_profile=profile))) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


@cache
def _listed(profile: SchemaProfile) -> tuple[dict[str, Any], ...]:
    return tuple(anyio.run(listed_tools_async, profile))


def listed_tools(profile: SchemaProfile = "default") -> list[dict[str, Any]]:
    """tools/list for ``profile`` (from a sync test: its own event loop, once per profile)."""
    import copy

    return copy.deepcopy(list(_listed(profile)))


def every_schema(profile: SchemaProfile) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``tool inputSchema``, schema) for every tool's input and output schema."""
    for tool in listed_tools(profile):
        for which in ("inputSchema", "outputSchema"):
            yield f"{tool['name']} {which}", tool[which]


def schema_nodes(node: dict[str, Any], path: str = "$", depth: int = 1) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Every subschema (root, property values, items, anyOf options) with its path and object depth."""
    yield path, node, depth
    inner = depth + (1 if node.get("type") == "object" else 0)
    for name, sub in node.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.properties.{name}", inner)
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(node["items"], f"{path}.items", inner)
    for index, option in enumerate(node.get("anyOf", [])):
        yield from schema_nodes(option, f"{path}.anyOf[{index}]", depth)
