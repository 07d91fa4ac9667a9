"""Live updates of ``mixpeek://tasks/{task_id}``: a subscriber hears when the task's status or tier changes.

Both protocol eras the SDK negotiates are served, each driven by the shared poller (same schedule, same
request budget, polls shared with any wait on the same task):

- 2025-era sessions (``initialize``; the SDK client's ``mode="legacy"``, Claude Desktop, the Inspector):
  ``resources/subscribe`` starts one watch per resource per connection, delivered as
  ``notifications/resources/updated`` on the connection; ``resources/unsubscribe`` or the connection closing
  (its exit stack) cancels it, and the poller drops the task once nobody watches it.
- 2026-07-28 (``subscriptions/listen``): the listen stream's ``resourceSubscriptions`` are watched while the
  stream is open, each update published to that stream only; closing the stream ends the watches.

MCPServer has no public hook for ``resources/subscribe`` nor for wrapping ``subscriptions/listen`` (mcp 2.3.0),
so both are registered on its lowlevel server (``_lowlevel``, the one private access). Legacy subscriptions are
left out in stateless Streamable HTTP, where no connection outlives a request: the capability then says so.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    ResourceUpdated,
    ServerEvent,
    SubscriptionBus,
)
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from .client import Credentials, TaskNotFoundError
from .observability import hooks as observe
from .request_scope import app_state, request_credentials
from .resources import ACTIVE_URI, FAILED_URI, MAX_TASK_ID_CHARS, TASK_URI_PREFIX
from .settings import Settings
from .summary import task_row
from .waits.poller import Poller
from .waits.rules import is_transient

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 50
"""Most task resources one connection (or one listen stream) may follow at once."""
MAX_LISTEN_STREAMS: Final = 256
"""Most subscriptions/listen streams open at once across the process."""
WATCH_HORIZON: Final = 3600.0
"""How long one wait for the next observation lasts before it is renewed (a watch has no deadline)."""
STATE_KEY: Final = "mixpeek_tasks_mcp.subscriptions"

Notify = Callable[[], Awaitable[None]]


def task_id_of(uri: str) -> str | None:
    """The task id of a ``mixpeek://tasks/{task_id}`` URI (None for the fixed pages and other URIs)."""
    if not uri.startswith(TASK_URI_PREFIX) or uri in (ACTIVE_URI, FAILED_URI):
        return None
    task_id = uri[len(TASK_URI_PREFIX) :]
    if not task_id or "/" in task_id or len(task_id) > MAX_TASK_ID_CHARS or not task_id.isprintable():
        return None
    return task_id


async def watch_task(poller: Poller, credentials: Credentials, task_id: str, notify: Notify) -> None:
    """Follow one task until it finishes (or vanishes), calling ``notify`` each time its status or tier changes."""
    subscription = poller.subscribe(credentials, [task_id], math.inf)
    last: tuple[str, str | None] | None = None
    observe.task_watch_started()
    try:
        while True:
            observation = (await subscription.updates(poller.clock.now() + WATCH_HORIZON)).get(task_id)
            if observation is None:
                continue
            if observation.error is not None:
                if isinstance(observation.error, TaskNotFoundError) and last is not None:
                    await notify()  # it was there and is gone: a read now says so
                if not is_transient(observation.error):
                    return
                continue
            if observation.task is None:
                continue
            seen = (observation.task.status, task_row(observation.task).tier)
            if last is not None and seen != last:
                await notify()
            last = seen
            if observation.final:
                return  # a finished task never changes again
    finally:
        observe.task_watch_ended()
        subscription.close()


def _checked_task_id(uri: str) -> str | None:
    task_id = task_id_of(uri)
    if task_id is None and uri not in (ACTIVE_URI, FAILED_URI):
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Cannot subscribe to {uri[:100]!r}: subscriptions are for mixpeek://tasks/{{task_id}}.",
        )
    return task_id  # the fixed pages are accepted; they change all the time, so no update is sent


class ConnectionWatches:
    """The legacy subscriptions of one connection: a watch per task resource, ended with the connection."""

    def __init__(self) -> None:
        self.watches: dict[str, asyncio.Task[None]] = {}

    @classmethod
    def of(cls, connection: Connection) -> ConnectionWatches:
        watches = connection.state.get(STATE_KEY)
        if not isinstance(watches, ConnectionWatches):
            watches = connection.state[STATE_KEY] = cls()
            connection.exit_stack.push_async_callback(watches.aclose)
        return watches

    def start(self, uri: str, watch: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await watch
            except Exception:  # pragma: no cover - a watch must not take the connection down
                logger.exception("a resource subscription stopped on an unexpected error")
            finally:
                if self.watches.get(uri) is task:
                    del self.watches[uri]

        task = asyncio.get_running_loop().create_task(run(), name=f"mixpeek-subscription {uri[:80]}")
        self.watches[uri] = task

    def stop(self, uri: str) -> None:
        task = self.watches.pop(uri, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self.watches.values())
        self.watches.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def on_subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
    uri = str(params.uri)
    task_id = _checked_task_id(uri)
    watches = ConnectionWatches.of(_connection(ctx))
    if task_id is None or uri in watches.watches:
        return EmptyResult()
    if len(watches.watches) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"This connection already follows {MAX_SUBSCRIPTIONS_PER_CONNECTION} tasks; unsubscribe first.",
        )
    state = app_state(ctx)
    connection = _connection(ctx)

    async def notify() -> None:
        await connection.send_resource_updated(uri)

    watches.start(uri, watch_task(state.poller, request_credentials(ctx, state), task_id, notify))
    return EmptyResult()


async def on_unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
    ConnectionWatches.of(_connection(ctx)).stop(str(params.uri))
    return EmptyResult()


class StreamBus:
    """One listen stream's bus: the server's events plus this stream's own task updates."""

    def __init__(self, shared: SubscriptionBus) -> None:
        self.shared = shared
        self.local = InMemorySubscriptionBus()

    async def publish(self, event: ServerEvent) -> None:
        await self.local.publish(event)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        leave_shared = self.shared.subscribe(listener)
        leave_local = self.local.subscribe(listener)

        def leave() -> None:
            leave_shared()
            leave_local()

        return leave


class TaskListen:
    """Serves ``subscriptions/listen`` as the SDK does, and watches the stream's task resources while it is open."""

    def __init__(self, shared: SubscriptionBus) -> None:
        self.shared = shared
        self.open_streams = 0

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        if self.open_streams >= MAX_LISTEN_STREAMS:
            raise MCPError(code=INTERNAL_ERROR, message="Subscription limit reached")
        uris = list(dict.fromkeys(params.notifications.resource_subscriptions or ()))
        tasks = [(uri, task_id) for uri in uris if (task_id := task_id_of(uri)) is not None]
        if len(tasks) > MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"One listen stream follows at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} tasks.",
            )
        bus = StreamBus(self.shared)
        state = app_state(ctx)
        credentials = request_credentials(ctx, state)
        self.open_streams += 1
        observe.listen_stream_opened()
        try:
            async with anyio.create_task_group() as group:
                for uri, task_id in tasks:

                    async def notify(uri: str = uri) -> None:
                        await bus.publish(ResourceUpdated(uri=uri))

                    group.start_soon(watch_task, state.poller, credentials, task_id, notify)
                try:
                    result = await ListenHandler(bus)(ctx, params)
                finally:
                    group.cancel_scope.cancel()
        finally:
            self.open_streams -= 1
            observe.listen_stream_closed()
        return result


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The request's connection, whose state and exit stack outlive the request (mcp 2.3.0 hands lowlevel
    handlers only the per-request session proxy; the connection sits in its private ``_connection``)."""
    connection = getattr(ctx.session, "_connection", None)
    if not isinstance(connection, Connection):  # pragma: no cover - a future SDK moved it
        raise MCPError(code=INTERNAL_ERROR, message="Resource subscriptions are unavailable on this connection.")
    return connection


def _lowlevel(server: MCPServer[Any]) -> Server[Any]:
    """MCPServer's lowlevel server: the only way to serve resources/subscribe with MCPServer (mcp 2.3.0)."""
    lowlevel: Server[Any] = server._lowlevel_server
    return lowlevel


def register_subscriptions(server: MCPServer[Any], settings: Settings, bus: SubscriptionBus) -> None:
    """resources/subscribe + unsubscribe (2025 era, where a connection lasts) and subscriptions/listen (2026)."""
    lowlevel = _lowlevel(server)
    if not (settings.transport == "streamable-http" and settings.stateless_http):
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, on_subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, on_unsubscribe)
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, TaskListen(bus))
