"""The task board: an MCP App (extension ``io.modelcontextprotocol/ui``) for list, triage and wait results.

One self-contained HTML file, built from ``app/`` and shipped in the package (``ui/board.html``; the wheel
needs no Node), is served as ``ui://mixpeek-tasks/board`` with an empty CSP allow list. The three tools
point at it through ``_meta.ui.resourceUri``. Negotiation: only clients that announce the extension (with
the ``text/html;profile=mcp-app`` MIME type) see that metadata and the ``ui://`` resource in their lists;
any other client gets exactly the tools it got before, and the same text results either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel

BOARD_URI = "ui://mixpeek-tasks/board"
BOARD_TOOLS = ("list_tasks", "triage_tasks", "wait_for_task")
BOARD_SIZE_BUDGET = 700 * 1024
"""Bytes the built board.html may take (everything inline); app/build.mjs refuses to write more."""


@cache
def board_html() -> str:
    return resources.files("mixpeek_tasks_mcp").joinpath("ui", "board.html").read_text(encoding="utf-8")


def board_extension() -> Apps:
    """The Apps extension serving the board; also advertises ``io.modelcontextprotocol/ui`` to clients."""
    apps = Apps()
    apps.add_html_resource(
        BOARD_URI,
        board_html(),
        name="mixpeek-tasks-board",
        title="Mixpeek task board",
        description="Task table, triage bars and live wait progress for list_tasks, triage_tasks and wait_for_task.",
        csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
        prefers_border=True,
    )
    return apps


def with_board(tools: Sequence[Tool]) -> list[Tool]:
    """The tools, those the board renders carrying ``_meta.ui.resourceUri``."""
    linked: list[Tool] = []
    for tool in tools:
        if tool.name in BOARD_TOOLS:
            meta = {**(tool.meta or {}), "ui": {"resourceUri": BOARD_URI, "visibility": ["model", "app"]}}
            tool = tool.model_copy(update={"meta": meta})
        linked.append(tool)
    return linked


def _plain(result: HandlerResult) -> dict[str, Any] | None:
    if isinstance(result, BaseModel):
        dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        return dumped
    return result


def _without_ui_meta(tool: dict[str, Any]) -> dict[str, Any]:
    meta = tool.get("_meta")
    if not isinstance(meta, dict) or "ui" not in meta:
        return tool
    rest = {key: value for key, value in meta.items() if key != "ui"}
    stripped = {key: value for key, value in tool.items() if key != "_meta"}
    if rest:
        stripped["_meta"] = rest
    return stripped


async def negotiate_apps(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: a client that did not announce MCP Apps lists no ``_meta.ui`` and no ``ui://``."""
    result = await call_next(ctx)
    if ctx.method not in ("tools/list", "resources/list") or client_supports_apps(ctx):
        return result
    plain = _plain(result)
    if plain is None:
        return result
    if ctx.method == "tools/list" and isinstance(plain.get("tools"), list):
        return {**plain, "tools": [_without_ui_meta(tool) for tool in plain["tools"]]}
    if ctx.method == "resources/list" and isinstance(plain.get("resources"), list):
        kept = [item for item in plain["resources"] if not str(item.get("uri", "")).startswith("ui://")]
        return {**plain, "resources": kept}
    return plain


__all__ = [
    "APP_MIME_TYPE",
    "BOARD_SIZE_BUDGET",
    "BOARD_URI",
    "board_extension",
    "board_html",
    "negotiate_apps",
    "with_board",
]
