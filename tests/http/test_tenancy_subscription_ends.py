"""One server, two users (issue 18, point 8): a subscription never ends silently.

Subscribing to an unknown task id answered ``{}``, and after a 401 the poller stopped while the client still
believed it was subscribed. Now an unknown id is an error at subscribe (and listen) time, and a refused key
ends the subscription visibly: a legacy subscriber gets a last resources/updated and a log message saying why;
a listen stream ends with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import SubscriptionLost
from mcp.types import LoggingMessageNotification, ResourceUpdatedNotification

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import ServeFactory, api_requests
from .helpers import USER_A, USER_B, modern_client, until

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
BOUND = 60.0


@asynccontextmanager
async def legacy(url: str, headers: dict[str, str]) -> AsyncIterator[tuple[ClientSession, list[Any]]]:
    heard: list[Any] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification | LoggingMessageNotification):
            heard.append(message)

    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        await session.initialize()
        yield session, heard


async def test_an_unknown_task_id_is_an_error_at_subscribe_time(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    uri = "mixpeek://tasks/no_such_task_0123"
    with anyio.fail_after(BOUND):
        async with legacy(server.url, USER_A) as (a, _), modern_client(server.url, USER_B) as b:
            with warnings.catch_warnings(), pytest.raises(MCPError) as refused:
                warnings.simplefilter("ignore")
                await a.subscribe_resource(uri)
            assert "not found" in refused.value.error.message
            with pytest.raises(MCPError) as refused:
                async with b.listen(resource_subscriptions=[uri]):
                    pass
            assert "not found" in refused.value.error.message


async def test_a_refused_key_ends_the_subscription_visibly(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    task_id = sandbox.create_task(status="PENDING")["task_id"]
    uri = f"mixpeek://tasks/{task_id}"
    polls = lambda: sum(task_id in str(entry["path"]) for entry in api_requests(sandbox))  # noqa: E731
    with anyio.fail_after(BOUND):
        async with legacy(server.url, USER_A) as (a, heard), modern_client(server.url, USER_B) as b:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await a.subscribe_resource(uri)
            async with b.listen(resource_subscriptions=[uri]) as stream:
                seen = polls()
                sandbox.set_faults(force_status={"status": 401, "count": None, "route": "get_task"})
                try:
                    with pytest.raises(SubscriptionLost) as ended:
                        async for _event in stream:
                            pass
                    await until(lambda: any(isinstance(m, LoggingMessageNotification) for m in heard))
                finally:
                    sandbox.clear_faults()
            assert polls() > seen
    reason = ended.value.__cause__  # the SDK raises SubscriptionLost from the server's error answer
    assert isinstance(reason, MCPError), repr(ended.value)
    message = reason.error.message
    assert "ended" in message and "401" in message, message[:300]
    assert any(isinstance(m, ResourceUpdatedNotification) and str(m.params.uri) == uri for m in heard)
    (log,) = [m for m in heard if isinstance(m, LoggingMessageNotification)]
    assert log.params.level == "error" and "ended" in str(log.params.data) and "401" in str(log.params.data)
