"""The host page, the browser and the bridge to a real MCP session, shared by the browser tests and the
screenshots in docs/."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser, FrameLocator, Page, Route, async_playwright
from pydantic import SecretStr

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.ui import BOARD_URI

from .conftest import CHROMIUM, ROOT, SECRET_KEY

ORIGIN = "http://127.0.0.1:9"  # answered by the route below; nothing listens there
HOST_URL = f"{ORIGIN}/host.html"
DOCS = ROOT / "docs"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
THEMES: dict[str, dict[str, str]] = {
    # What a host sends in hostContext.styles.variables (a subset; the app falls back for the rest).
    "light": {
        "--color-background-primary": "#ffffff",
        "--color-background-secondary": "#f3f3f5",
        "--color-text-primary": "#18181b",
        "--color-text-secondary": "#52525b",
        "--color-border-primary": "#dcdce2",
        "--font-sans": "system-ui, sans-serif",
    },
    "dark": {
        "--color-background-primary": "#202024",
        "--color-background-secondary": "#2b2b31",
        "--color-text-primary": "#ededf0",
        "--color-text-secondary": "#b0b0ba",
        "--color-border-primary": "#3d3d45",
        "--font-sans": "system-ui, sans-serif",
    },
}
HOST_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0;padding:20px;font-family:system-ui}body[data-theme=dark]{background:#17171a}
body[data-theme=light]{background:#ececef}#slot{border-radius:10px;overflow:hidden}</style></head>
<body><div id="slot"></div><script src="host.js"></script></body></html>"""


def settings_for(sandbox: RunningSandbox) -> Settings:
    return Settings(api_key=SecretStr(SECRET_KEY), api_base=sandbox.base_url, max_retries=1)


def as_json(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


@dataclass
class Board:
    """One rendered board: the host page, the app's frame, the MCP client behind the host."""

    page: Page
    frame: FrameLocator
    client: Client
    app_calls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Uncaught exceptions and console errors of the host page and the app's frame: any one fails the test."""
    expected_errors: list[str] = field(default_factory=list)
    """Substrings of errors a test causes on purpose (e.g. a blocked request it makes to prove the blocking)."""

    def unexpected_errors(self) -> list[str]:
        return [error for error in self.errors if not any(part in error for part in self.expected_errors)]

    async def resize(self, width: int) -> None:
        """The host's container becomes ``width`` px wide (the app is told through its host context)."""
        await self.page.set_viewport_size({"width": width + 40, "height": 3000})
        await self.page.evaluate("w => window.resizeHost(w)", width)
        await self.page.wait_for_timeout(150)

    async def tool_input(self, arguments: dict[str, Any]) -> None:
        await self.page.evaluate("p => window.bridge.sendToolInput(p)", {"arguments": arguments})

    async def tool_result(self, result: Any) -> None:
        await self.page.evaluate("r => window.bridge.sendToolResult(r)", as_json(result))

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """A tool call as the model makes it, shown to the app like a host does (input, then result)."""
        await self.tool_input(arguments)
        result = await self.client.call_tool(name, arguments)
        await self.tool_result(result)
        return result

    async def screenshot(self, name: str, fallback_dir: Path) -> Path:
        """docs/app-<name>.png when UPDATE_SCREENSHOTS=1 (how the README's pictures are made), else a temp file."""
        target = (DOCS if os.environ.get("UPDATE_SCREENSHOTS") else fallback_dir) / f"app-{name}.png"
        await self.page.wait_for_timeout(300)  # the last size-changed notification and bar transitions
        await self.page.locator("#slot").screenshot(path=str(target), animations="disabled")
        return target


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def board(
    sandbox: RunningSandbox, host_js: str, *, tool: str, theme: str = "light", width: int = 760
) -> AsyncIterator[Board]:
    """The board in a test host page, its tools/call requests answered by a real session on the sandbox."""
    extensions = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
    async with Client(build_server(settings_for(sandbox)), extensions=extensions) as client, browser() as chromium:
        listed = {item.name: item for item in (await client.list_tools()).tools}
        assert listed[tool].meta is not None and listed[tool].meta["ui"]["resourceUri"] == BOARD_URI
        html = getattr((await client.read_resource(BOARD_URI)).contents[0], "text", "")
        context = await chromium.new_context(viewport={"width": width + 40, "height": 3000}, color_scheme=theme)
        page = await context.new_page()
        harness = Board(page=page, frame=page.frame_locator("iframe"), client=client)

        async def route(route: Route) -> None:
            url = route.request.url
            if url == HOST_URL:
                await route.fulfill(status=200, content_type="text/html", body=HOST_HTML)
            elif url == f"{ORIGIN}/host.js":
                await route.fulfill(status=200, content_type="text/javascript", body=host_js)
            else:
                harness.blocked.append(url)
                await route.abort()

        async def mcp_call(method: str, params: dict[str, Any]) -> dict[str, Any]:
            assert method == "tools/call", method
            harness.app_calls.append({"name": params["name"], "arguments": params.get("arguments")})
            answer = as_json(await client.call_tool(params["name"], params.get("arguments") or {}))
            if os.environ.get("BOARD_DEBUG"):
                print("app call", params.get("arguments"), json.dumps(answer.get("structuredContent"))[:600])
            return answer

        await context.route("**/*", route)
        await context.expose_function("mcpCall", mcp_call)
        context.on("request", lambda request: harness.requests.append(request.url))
        page.on("dialog", lambda dialog: harness.dialogs.append(dialog.message))
        watch_errors(page, harness.errors)
        await page.goto(HOST_URL)
        await page.evaluate(
            "args => window.startHost(args)",
            {"html": html, "theme": theme, "variables": THEMES[theme], "toolName": tool, "width": width},
        )
        try:
            yield harness
            await page.wait_for_timeout(100)  # errors of the last render arrive asynchronously
            assert harness.unexpected_errors() == [], "the page logged errors"
        finally:
            await context.close()


def watch_errors(page: Page, errors: list[str]) -> None:
    """Collect every uncaught exception and console error of the page and its frames."""
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: errors.append(f"console.{message.type}: {message.text}") if message.type == "error" else None,
    )


@asynccontextmanager
async def bare_page(theme: str = "light", width: int = 760) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page that is no MCP Apps host, with its errors collected (the board opened on its own)."""
    async with browser() as chromium:
        context = await chromium.new_context(viewport={"width": width, "height": 1200}, color_scheme=theme)
        page = await context.new_page()
        errors: list[str] = []
        watch_errors(page, errors)
        try:
            yield page, errors
        finally:
            await context.close()


def offsite(harness: Board) -> list[str]:
    """Requests other than the host page's own two files (none may happen)."""
    return sorted(
        {url for url in harness.requests if url not in (HOST_URL, f"{ORIGIN}/host.js")} | set(harness.blocked)
    )


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
