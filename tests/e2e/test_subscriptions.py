"""Live updates of task resources through real MCP sessions: resources/subscribe (2025-11-25) and
subscriptions/listen (2026-07-28), both driven by the shared poller, and no polling once nobody listens."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS, ResourceUpdatedNotification

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.tools import AppState

from .conftest import api_requests

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

PATIENCE = 30.0
"""Upper bound for something that should happen within a few polls (never asserted as a duration)."""


async def eventually(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(PATIENCE):
        while not condition():  # noqa: ASYNC110 - the state lives in the sandbox and the poller
            await anyio.sleep(0.05)


def pending_task(sandbox: RunningSandbox) -> tuple[str, str]:
    task = sandbox.create_task(task_type="api_buckets_batches_process", status="PENDING")
    return str(task["task_id"]), f"mixpeek://tasks/{task['task_id']}"


def gets_of(sandbox: RunningSandbox, task_id: str) -> int:
    return sum(1 for entry in api_requests(sandbox) if task_id in str(entry.get("path", "")))


async def test_subscribe_delivers_an_update_and_unsubscribe_stops_polling(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    task_id, uri = pending_task(sandbox)
    state = AppState(settings=settings, client=TasksClient(settings))
    updates: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with Client(build_server(settings, state=state), mode="legacy", message_handler=on_message) as client:
        assert client.protocol_version == "2025-11-25"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(uri)
            await client.subscribe_resource(uri)  # twice is once
        await eventually(lambda: gets_of(sandbox, task_id) >= 1)  # the first poll sets the baseline
        assert state.poller.entry_count == 1
        sandbox.transition(task_id, "IN_PROGRESS")
        await eventually(lambda: bool(updates))
        assert updates == [uri]
        read = await client.read_resource(uri)
        assert '"IN_PROGRESS"' in getattr(read.contents[0], "text", "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.unsubscribe_resource(uri)
        await eventually(lambda: state.poller.entry_count == 0)
        polls = gets_of(sandbox, task_id)
        sandbox.transition(task_id, "COMPLETED")
        await client.list_resources()  # one more round trip
    assert gets_of(sandbox, task_id) == polls
    assert updates == [uri]


async def test_disconnecting_stops_the_polling(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id, uri = pending_task(sandbox)
    state = AppState(settings=settings, client=TasksClient(settings))
    async with Client(build_server(settings, state=state), mode="legacy") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(uri)
        await eventually(lambda: gets_of(sandbox, task_id) >= 1)
        assert state.poller.entry_count == 1
    await eventually(lambda: state.poller.entry_count == 0)


async def test_a_subscription_ends_by_itself_when_the_task_finishes(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    task_id, uri = pending_task(sandbox)
    state = AppState(settings=settings, client=TasksClient(settings))
    updates: list[Any] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(message)

    async with Client(build_server(settings, state=state), mode="legacy", message_handler=on_message) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(uri)
        await eventually(lambda: gets_of(sandbox, task_id) >= 1)
        sandbox.transition(task_id, "FAILED", error="boom")
        await eventually(lambda: bool(updates))
        await eventually(lambda: state.poller.entry_count == 0)


async def test_only_task_resources_take_subscriptions(settings: Settings) -> None:
    async with Client(build_server(settings), mode="legacy") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource("mixpeek://tasks/active")  # accepted; pages change all the time
            with pytest.raises(MCPError) as raised:
                await client.subscribe_resource("file:///etc/passwd")
    assert raised.value.error.code == INVALID_PARAMS and "mixpeek://tasks/{task_id}" in raised.value.error.message


async def test_listen_delivers_updates_while_the_stream_is_open(sandbox: RunningSandbox, settings: Settings) -> None:
    task_id, uri = pending_task(sandbox)
    _, other_uri = pending_task(sandbox)
    state = AppState(settings=settings, client=TasksClient(settings))
    async with Client(build_server(settings, state=state)) as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(resource_subscriptions=[uri, other_uri]) as stream:
            await eventually(lambda: state.poller.stats.checks >= 2)  # both baselines (one batched list call)
            assert state.poller.entry_count == 2
            sandbox.transition(task_id, "COMPLETED")
            with anyio.fail_after(PATIENCE):
                event = await stream.__anext__()
            assert getattr(event, "uri", None) == uri
        await eventually(lambda: state.poller.entry_count == 0)
