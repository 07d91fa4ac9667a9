"""Resources, prompts, completions and live updates over real transports: Streamable HTTP (stateful and
stateless), SSE and stdio, with the SDK's own clients against the CLI's server process."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import PromptReference, ResourceUpdatedNotification, ServerCapabilities

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from ..e2e.conftest import stdio_server
from .conftest import CLIENT_KEY, SERVER_KEY, ServeFactory, api_requests, fingerprint
from .helpers import until

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BOUND = 60.0
"""Upper bound for one test's exchanges (never asserted as a duration)."""


@asynccontextmanager
async def connected(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[ClientSession, list[str], ServerCapabilities]]:
    """An initialized 2025-era session that records the resource-updated notifications it receives."""
    updates: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    if url.endswith("/sse"):
        async with (
            sse_client(url, headers=headers) as (read, write),
            ClientSession(read, write, message_handler=on_message) as session,
        ):
            init = await session.initialize()
            yield session, updates, init.capabilities
        return
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        init = await session.initialize()
        yield session, updates, init.capabilities


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_a_subscription_hears_the_sandbox_move_the_task(
    serve: ServeFactory, sandbox: RunningSandbox, transport: str
) -> None:
    server = serve(transport)
    task = sandbox.create_task(task_type="thumbnail", status="PENDING")
    uri = f"mixpeek://tasks/{task['task_id']}"
    polls = lambda: sum(task["task_id"] in str(entry["path"]) for entry in api_requests(sandbox))  # noqa: E731
    with anyio.fail_after(BOUND):
        async with connected(server.url) as (session, updates, caps):
            assert caps.resources is not None and caps.resources.subscribe
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await session.subscribe_resource(uri)
            await until(lambda: polls() >= 1)
            sandbox.transition(task["task_id"], "IN_PROGRESS")
            await until(lambda: bool(updates))
            assert updates == [uri]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await session.unsubscribe_resource(uri)
            seen = polls()
            # a wait on another task gives the poller time to (wrongly) poll the first one again
            other = sandbox.create_task(task_type="thumbnail", status="PENDING")
            await session.call_tool("wait_for_task", {"task_id": other["task_id"], "timeout_seconds": 3})
            assert polls() == seen


async def test_stateless_http_advertises_no_legacy_subscribe_but_serves_the_rest(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--stateless")
    task = sandbox.create_task(task_type="thumbnail", status="FAILED", error="bad frame")
    with anyio.fail_after(BOUND):
        async with connected(server.url) as (session, _, caps):
            assert caps.resources is not None and caps.resources.subscribe is False
            read = await session.read_resource(f"mixpeek://tasks/{task['task_id']}")
            assert "bad frame" in getattr(read.contents[0], "text", "")
            prompt = await session.get_prompt("triage", {"since": "24h"})
            assert "triage_tasks {" in getattr(prompt.messages[0].content, "text", "")
            done = await session.complete(PromptReference(name="triage"), {"name": "status", "value": "comp"})
            assert done.completion.values == ["COMPLETED", "COMPLETED_WITH_ERRORS"]


async def test_resources_and_completions_use_the_passthrough_key(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    task = sandbox.create_task(task_type="thumbnail", status="COMPLETED")
    with anyio.fail_after(BOUND):
        sandbox.clear_requests()
        async with connected(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as (session, _, _caps):
            await session.read_resource(f"mixpeek://tasks/{task['task_id']}")
            await session.read_resource("mixpeek://tasks/active")
            await session.complete(PromptReference(name="watch"), {"name": "batch_id", "value": ""})
        calls = api_requests(sandbox)
        assert len(calls) == 3 and {call["key_fingerprint"] for call in calls} == {fingerprint(CLIENT_KEY)}
        assert fingerprint(SERVER_KEY) not in str(calls)


async def test_stdio_serves_resources_prompts_and_completions(sandbox: RunningSandbox) -> None:
    task = sandbox.create_task(task_type="thumbnail", status="FAILED", error="bad frame")
    with anyio.fail_after(BOUND):
        async with (
            stdio_client(stdio_server(sandbox, MIXPEEK_API_KEY=SERVER_KEY)) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            assert init.capabilities.resources is not None and init.capabilities.resources.subscribe
            assert init.capabilities.prompts is not None and init.capabilities.completions is not None
            templates = await session.list_resource_templates()
            assert [t.uri_template for t in templates.resource_templates] == ["mixpeek://tasks/{task_id}"]
            read = await session.read_resource(f"mixpeek://tasks/{task['task_id']}")
            assert read.contents[0].mime_type == "application/json"
            assert "bad frame" in getattr(read.contents[0], "text", "")
            prompt = await session.get_prompt("explain_task", {"task_id": task["task_id"]})
            assert len(prompt.messages) == 2
            done = await session.complete(PromptReference(name="triage"), {"name": "task_type", "value": "thumb"})
            assert done.completion.values == ["thumbnail"]
