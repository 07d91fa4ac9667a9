"""The task board MCP App: negotiation, the ui:// resource, and the built file agreeing with its sources."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.ui import BOARD_SIZE_BUDGET, BOARD_TOOLS, BOARD_URI, board_html

from .conftest import session

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
APPS_CLIENT = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
BOARD_SOURCES = ["build.mjs", "package-lock.json", "src/main.js", "src/render.js", "src/board.css", "src/board.html"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_with_apps_sees_the_board_linked_from_the_three_tools(settings: Settings, mode: str) -> None:
    async with session(settings, mode=mode, extensions=[APPS_CLIENT]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        listed = [resource for resource in (await client.list_resources()).resources if resource.uri == BOARD_URI]
        read = await client.read_resource(BOARD_URI)
    for name in BOARD_TOOLS:
        assert tools[name].meta == {"ui": {"resourceUri": BOARD_URI, "visibility": ["model", "app"]}}
    assert [resource.mime_type for resource in listed] == [APP_MIME_TYPE]
    [content] = read.contents
    assert content.mime_type == APP_MIME_TYPE
    assert getattr(content, "text", None) == board_html()
    assert content.meta is not None
    csp = content.meta["ui"]["csp"]
    assert csp == {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_without_apps_gets_todays_tools_and_text(settings: Settings, mode: str) -> None:
    async with session(settings, mode=mode) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
        result = await client.call_tool("list_tasks", {"status": "FAILED", "limit": 2})
    assert all(tool.meta is None or "ui" not in tool.meta for tool in tools)
    assert not [resource for resource in resources if resource.uri.startswith("ui://")]
    async with session(settings, mode=mode, extensions=[APPS_CLIENT]) as client:
        with_apps = await client.call_tool("list_tasks", {"status": "FAILED", "limit": 2})
    assert with_apps.content == result.content and with_apps.structured_content == result.structured_content


def test_the_board_fits_its_size_budget_and_build_mjs_states_the_same_budget() -> None:
    size = len(board_html().encode())
    assert size <= BOARD_SIZE_BUDGET, f"board.html is {size} bytes, budget {BOARD_SIZE_BUDGET}"
    build = (ROOT / "app" / "build.mjs").read_text()
    assert re.search(r"const SIZE_BUDGET = (\d+) \* 1024;", build) is not None
    assert f"const SIZE_BUDGET = {BOARD_SIZE_BUDGET // 1024} * 1024;" in build


def test_the_built_board_agrees_with_its_sources() -> None:
    """The same digest build.mjs stamps into the file; `npm run check` in app/ also compares rebuilt bytes."""
    digest = hashlib.sha256()
    for name in BOARD_SOURCES:
        digest.update(name.encode() + b"\0" + (ROOT / "app" / name).read_bytes())
    assert f"Sources sha256 {digest.hexdigest()}" in board_html(), "rebuild: cd app && npm ci && npm run build"


def test_the_board_loads_nothing_from_elsewhere() -> None:
    html = board_html()
    head = html[: html.index("<script>")]
    assert "default-src 'none'" in head and "connect-src 'none'" in head
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html[: html.index("<script>")], re.IGNORECASE)
    assert html.count("<script") == 1 and "<script>" in html  # one inline script, no src=
    assert "@import" not in html and "url(" not in head


def test_the_wheel_ships_the_board(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    [built] = list(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    with zipfile.ZipFile(built) as wheel:
        names = wheel.namelist()
    assert "mixpeek_tasks_mcp/ui/board.html" in names
    assert not any(name.startswith("app/") or "node_modules" in name for name in names)
