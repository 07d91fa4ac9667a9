"""The advertised prompts, resources and resource templates are what the README documents, and unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "prompts_resources.json"
README = Path(__file__).parent.parent.parent / "README.md"


async def listed() -> dict[str, Any]:
    async with Client(build_server(Settings(api_key=None))) as client:
        prompts = (await client.list_prompts()).prompts
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    dump = lambda items: [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]  # noqa: E731
    return {"prompts": dump(prompts), "resources": dump(resources), "resourceTemplates": dump(templates)}


async def test_prompts_and_resources_match_the_snapshot() -> None:
    surfaces = await listed()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(surfaces, indent=2, sort_keys=True) + "\n")
    assert surfaces == json.loads(SNAPSHOT.read_text()), "prompts/resources changed: review, then UPDATE_SNAPSHOTS=1"


async def test_the_readme_names_every_prompt_and_resource_as_clients_show_them() -> None:
    surfaces = await listed()
    readme = README.read_text()
    for prompt in surfaces["prompts"]:
        assert f"/mcp__mixpeek-tasks__{prompt['name']}" in readme, prompt["name"]
    for resource in surfaces["resources"]:
        assert f"@mixpeek-tasks:{resource['uri']}" in readme, resource["uri"]
    for template in surfaces["resourceTemplates"]:
        assert template["uriTemplate"] in readme
