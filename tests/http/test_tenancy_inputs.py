"""One server, two users (issue 18): task ids are ids everywhere, and errors echo little of what they refuse.

``.`` and ``..`` survived ``quote()`` and the HTTP client normalized ``/v1/tasks/..`` to ``/v1``: a wait on
``..`` answered with another endpoint's JSON. Each surface (tools, resource URIs, prompts, subscribe) refuses
such ids before anything is sent, and client.get_task refuses to build such a path (defence in depth).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, MCPError

from mixpeek_tasks_mcp.client import Credentials, MixpeekError, TasksClient
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import CLIENT_KEY, SERVER_KEY, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
BOUND = 60.0
USER_A = {"X-Mixpeek-Api-Key": CLIENT_KEY}
USER_B = {"X-Mixpeek-Api-Key": SERVER_KEY}
PATH_CHANGING_IDS = [".", "..", " .. ", "./..", "a/../..", "..%2f", "%2e%2e", "a?b=1", "a#b", "a\\..", "a b", "\t.."]
MAX_ECHO_CHARS = 400
"""An error may quote "a couple of hundred characters" of what it refuses, plus its own words."""


async def _error_of(action: Any) -> str:
    try:
        result = await action
    except MCPError as error:
        return error.error.message
    assert getattr(result, "is_error", False), f"accepted: {str(result)[:300]}"
    return " ".join(getattr(block, "text", "") for block in result.content)


async def _refusals(session: ClientSession, task_id: str) -> list[str]:
    uri = f"mixpeek://tasks/{task_id}"
    watch = []
    if not any(character.isspace() for character in task_id.strip()):  # the watch prompt splits ids on spaces
        watch = [await _error_of(session.get_prompt("watch", {"task_ids": f"t1,{task_id}"}))]
    return [
        *watch,
        await _error_of(session.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 0})),
        await _error_of(session.call_tool("wait_for_task", {"task_ids": ["t1", task_id], "timeout_seconds": 0})),
        await _error_of(session.read_resource(uri)),
        await _error_of(session.subscribe_resource(uri)),
        await _error_of(session.get_prompt("explain_task", {"task_id": task_id})),
    ]


async def test_dot_segments_and_path_characters_are_refused_everywhere(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url, USER_A) as a, mcp_session(server.url, USER_B) as b:
            sandbox.clear_requests()
            for session in (a, b):
                for task_id in PATH_CHANGING_IDS:
                    for message in await _refusals(session, task_id):
                        assert message and len(message) < MAX_ECHO_CHARS, message[:300]
            assert sandbox.requests() == [], "a refused id reached the API"


async def test_errors_echo_a_couple_of_hundred_characters_of_a_megabyte(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    megabyte = "x" * 1_000_000
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url, USER_A) as session:
            sandbox.clear_requests()
            messages = [
                *await _refusals(session, megabyte),
                await _error_of(session.read_resource(f"mixpeek://tasks/{megabyte}/x")),
                await _error_of(session.read_resource(f"mixpeek://{megabyte}")),
                await _error_of(session.subscribe_resource(f"mixpeek://{megabyte}")),
                await _error_of(session.get_prompt("triage", {"since": megabyte[:1999]})),
                await _error_of(session.get_prompt("triage", {"bucket": megabyte[:1999]})),
                await _error_of(session.get_prompt("triage", {"since": megabyte})),
                await _error_of(session.get_prompt(megabyte, {})),
                await _error_of(session.call_tool("list_tasks", {"status": megabyte})),
                await _error_of(session.call_tool("list_tasks", {megabyte: 1})),
                await _error_of(session.call_tool("list_tasks", {"filters": {"AND": [{"field": megabyte}]}})),
            ]
            assert sandbox.requests() == []
    for message in messages:
        assert message and len(message) < MAX_ECHO_CHARS, f"{len(message):,} characters: {message[:200]}"


async def test_the_client_never_sends_a_path_changing_task_id() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={"task_id": "x", "task_type": "thumbnail", "status": "COMPLETED"})

    client = TasksClient(Settings(api_key=SERVER_KEY, api_base="http://127.0.0.1:9"))
    client._client = httpx2.AsyncClient(base_url="http://127.0.0.1:9", transport=httpx2.MockTransport(handler))
    try:
        for task_id in PATH_CHANGING_IDS:
            with pytest.raises(MixpeekError, match="not a task id"):
                await client.get_task(task_id, credentials=Credentials(SERVER_KEY))
        assert sent == []
        await client.get_task("task_ok-1", credentials=Credentials(SERVER_KEY))
        assert [request.url.path for request in sent] == ["/v1/tasks/task_ok-1"]
    finally:
        await client.aclose()
