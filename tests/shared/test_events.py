"""The SubscriptionBus over Redis pub/sub and the per-key task topics, between two links to a real Redis."""

from __future__ import annotations

import anyio
import pytest
from mcp.server.subscriptions import ResourceUpdated, ServerEvent, ToolsListChanged

from mixpeek_tasks_mcp.shared.events import EventHub, RedisSubscriptionBus, task_change_message, task_topic
from mixpeek_tasks_mcp.shared.link import RedisLink

from ..http.test_live_surfaces import until
from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio


async def _replica(url: str, changes: list[tuple[str, str]]) -> tuple[RedisLink, RedisSubscriptionBus, EventHub]:
    link = RedisLink(url, password=None, timeout=0.5, prefix="events-test:")
    assert await link.ping()
    bus = RedisSubscriptionBus(link)
    return link, bus, EventHub(link, bus, lambda identity, task_id: changes.append((identity, task_id)))


async def test_an_event_published_on_one_replica_reaches_the_others_listeners_once(redis_server: RedisServer) -> None:
    changes: list[tuple[str, str]] = []
    (link_a, bus_a, hub_a), (link_b, bus_b, hub_b) = [await _replica(redis_server.url, changes) for _ in range(2)]
    heard_a: list[ServerEvent] = []
    heard_b: list[ServerEvent] = []
    bus_a.subscribe(heard_a.append)
    bus_b.subscribe(heard_b.append)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(hub_a.run)
            group.start_soon(hub_b.run)
            while hub_b.received == 0:  # subscribed once a message gets through
                await bus_a.publish(ToolsListChanged())
                await anyio.sleep(0.1)
            heard_a.clear()  # warm-up events still on their way to B are not ResourceUpdated
            await bus_a.publish(ResourceUpdated(uri="mixpeek://tasks/t-1"))
            await until(lambda: any(isinstance(event, ResourceUpdated) for event in heard_b))
            # a task change on key "k1" (as observations.py publishes it from its Lua script)
            await link_b.client.publish(task_topic(link_b, "k1"), task_change_message(link_b, "t-2"))
            await until(lambda: bool(changes))
            group.cancel_scope.cancel()
    assert [event for event in heard_b if isinstance(event, ResourceUpdated)] == [
        ResourceUpdated(uri="mixpeek://tasks/t-1")
    ]
    assert heard_a == [ResourceUpdated(uri="mixpeek://tasks/t-1")]  # locally at once, never again from Redis
    assert changes == [("k1", "t-2")]  # heard by replica A only: B sent it
    for link in (link_a, link_b):
        await link.aclose()
