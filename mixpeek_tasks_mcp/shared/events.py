"""Notifications across replicas over Redis pub/sub.

- ``RedisSubscriptionBus`` implements the SDK's ``mcp.server.subscriptions.SubscriptionBus``: an event
  published on any replica reaches the listen streams of every replica (delivered locally at once, and to
  the others through the channel ``events:server``). Events travel in the SDK's own wire vocabulary
  (``event_to_notification`` / ``event_from_wire``), with the sending replica's id so it skips its own.
- Task changes: a replica that polled a task and saw its status or tier change publishes the task id on its
  key's topic ``tasks:<identity>`` (observations.py, inside the same Lua call that stores the result). Every
  other replica's poller then checks that task at once, reading the stored observation instead of polling
  (``Poller.poke``), so its waits, legacy ``resources/subscribe`` watches and listen streams of that key hear
  of the change. Topics are per hashed key identity: a key never hears of another key's tasks.

One pub/sub connection per replica (``EventHub.run``), resubscribed after Redis comes back. Messages sent
while it was away are lost, which costs nothing: every event is a level trigger, and pollers keep polling.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Final

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ServerEvent
from mcp.shared.subscriptions import event_from_wire, event_to_notification

from .link import RedisLink, SharedUnavailable

logger = logging.getLogger(__name__)

SERVER_TOPIC: Final = "events:server"
READ_SECONDS: Final = 1.0
MAX_MESSAGE_CHARS: Final = 4_096

TaskChanged = Callable[[str, str], None]
"""(key identity, task id): another replica saw this task change."""


def task_topic(link: RedisLink, identity: str) -> str:
    return link.key("tasks", identity)


def task_change_message(link: RedisLink, task_id: str) -> str:
    return json.dumps({"r": link.replica, "task": task_id})


class RedisSubscriptionBus:
    """A SubscriptionBus whose events reach every replica's listeners (see the module docstring)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.local = InMemorySubscriptionBus()
        self.channel = link.key(SERVER_TOPIC)

    async def publish(self, event: ServerEvent) -> None:
        await self.local.publish(event)
        notification = event_to_notification(event, {}).model_dump(mode="json", by_alias=True, exclude_none=True)
        message = json.dumps(
            {"r": self.link.replica, "method": notification["method"], "params": notification.get("params")}
        )
        with contextlib.suppress(SharedUnavailable):  # then this replica's listeners have it; the others poll
            await self.link.run(lambda client: client.publish(self.channel, message), "publish")

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        return self.local.subscribe(listener)

    async def deliver_remote(self, payload: dict[str, Any]) -> None:
        params = payload.get("params")
        event = event_from_wire(str(payload.get("method")), params if isinstance(params, dict) else None)
        if event is not None:
            await self.local.publish(event)


class EventHub:
    """This replica's pub/sub connection: server events to the bus, task changes to the poller."""

    def __init__(self, link: RedisLink, bus: RedisSubscriptionBus, on_task_change: TaskChanged) -> None:
        self.link = link
        self.bus = bus
        self.on_task_change = on_task_change
        self.task_prefix = link.key("tasks", "")
        self.received = 0

    async def run(self) -> None:
        """Forever: subscribe while Redis is up, read and dispatch, start again after a fault."""
        while True:
            if not self.link.up:
                await anyio.sleep(0.25)
                continue
            pubsub = self.link.client.pubsub()
            try:
                with anyio.fail_after(self.link.timeout):
                    await pubsub.subscribe(self.bus.channel)
                    await pubsub.psubscribe(self.task_prefix + "*")
                while self.link.up:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_SECONDS)
                    if message is not None:
                        await self._dispatch(message)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                self.link.mark_down(exc)
            finally:
                with anyio.move_on_after(self.link.timeout, shield=True):
                    with contextlib.suppress(Exception):  # a dead connection: nothing to close
                        await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _dispatch(self, message: dict[str, Any]) -> None:
        data, channel = message.get("data"), str(message.get("channel"))
        if not isinstance(data, str) or len(data) > MAX_MESSAGE_CHARS:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if not isinstance(payload, dict) or payload.get("r") == self.link.replica:
            return
        self.received += 1
        if channel == self.bus.channel:
            await self.bus.deliver_remote(payload)
        elif channel.startswith(self.task_prefix) and isinstance(payload.get("task"), str):
            try:
                self.on_task_change(channel[len(self.task_prefix) :], payload["task"])
            except Exception:  # pragma: no cover - a listener must not end the hub
                logger.exception("a task-change listener failed")
