"""Live updates of ``mixpeek://tasks/{task_id}``: a subscriber hears when the task's status or tier changes.

Both protocol eras the SDK negotiates are served, each driven by the shared poller (same schedule, same
request budget, polls shared with any wait on the same task):

- 2025-era sessions (``initialize``; the SDK client's ``mode="legacy"``, Claude Desktop, the Inspector):
  ``resources/subscribe`` starts one watch per resource per connection, delivered as
  ``notifications/resources/updated`` on the connection; ``resources/unsubscribe`` or the connection closing
  (its exit stack) cancels it, and the poller drops the task once nobody watches it.
- 2026-07-28 (``subscriptions/listen``): the listen stream's ``resourceSubscriptions`` are watched while the
  stream is open, each update published to that stream only; closing the stream ends the watches.

Subscribing waits for the task's first check (task_watch.first_look): an unknown id, or one the key may not read,
is refused there. A watch that ends because the key was refused ends visibly (task_watch). Each key holds at most
its caps of listen streams and subscriptions (tenancy.py).

MCPServer has no public hook for ``resources/subscribe`` nor for wrapping ``subscriptions/listen`` (mcp 2.3.0),
so both are registered on its lowlevel server (``_lowlevel``, the one private access). Legacy subscriptions are
left out in stateless Streamable HTTP, where no connection outlives a request: the capability then says so.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
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
    INVALID_REQUEST,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from .client import Credentials
from .observability import hooks as observe
from .request_scope import app_state, request_credentials
from .resources import ACTIVE_URI, FAILED_URI, TASK_URI_PREFIX
from .settings import Settings
from .task_ids import echo, task_id_problem
from .task_watch import Notify, UnknownTask, first_look, reason, watch_task
from .tenancy import LISTEN_STREAMS, SUBSCRIPTIONS, CapReached
from .waits.poller import Poller
from .waits.subscription import Subscription

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 50
"""Most task resources one connection (or one listen stream) may follow at once."""
MAX_LISTEN_STREAMS: Final = 256
"""Most subscriptions/listen streams open at once across the process."""
STATE_KEY: Final = "mixpeek_tasks_mcp.subscriptions"


def task_id_of(uri: str) -> str | None:
    """The task id of a ``mixpeek://tasks/{task_id}`` URI (None for the fixed pages and other URIs)."""
    if not uri.startswith(TASK_URI_PREFIX) or uri in (ACTIVE_URI, FAILED_URI):
        return None
    task_id = uri[len(TASK_URI_PREFIX) :]
    return None if task_id_problem(task_id) else task_id


def _checked_task_id(uri: str) -> str | None:
    task_id = task_id_of(uri)
    if task_id is None and uri not in (ACTIVE_URI, FAILED_URI):
        why = ""
        if uri.startswith(TASK_URI_PREFIX) and (problem := task_id_problem(uri[len(TASK_URI_PREFIX) :])):
            why = f" (its task id {problem})"
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Cannot subscribe to {echo(uri, 100)}{why}: subscriptions are for mixpeek://tasks/{{task_id}}.",
        )
    return task_id  # the fixed pages are accepted; they change all the time, so no update is sent


_SESSIONS_WITH_WATCHES: dict[str, ConnectionWatches] = {}
"""Streamable HTTP session id -> its legacy subscriptions, while it has any (see session_has_subscriptions)."""


def session_has_subscriptions(session_id: str) -> bool:
    """Whether this Streamable HTTP session follows any task: the HTTP layer then ends it soon after its last
    stream closes (http/sessions.py), since nobody is left to hear its updates."""
    watches = _SESSIONS_WITH_WATCHES.get(session_id)
    return watches is not None and bool(watches.watches)


class ConnectionWatches:
    """The legacy subscriptions of one connection: a watch per task resource, ended with the connection."""

    def __init__(self, session_id: str | None = None) -> None:
        self.watches: dict[str, asyncio.Task[None]] = {}
        self.session_id = session_id

    @classmethod
    def of(cls, connection: Connection) -> ConnectionWatches:
        watches = connection.state.get(STATE_KEY)
        if not isinstance(watches, ConnectionWatches):
            watches = connection.state[STATE_KEY] = cls(connection.session_id)
            connection.exit_stack.push_async_callback(watches.aclose)
            if connection.session_id is not None:
                _SESSIONS_WITH_WATCHES[connection.session_id] = watches
        return watches

    def start(self, uri: str, watch: Awaitable[object], release: Callable[[], None]) -> None:
        """Run ``watch`` for ``uri``; ``release`` (its key's hold on a subscription) is called when it ends."""

        async def run() -> None:
            try:
                await watch
            except Exception:  # pragma: no cover - a watch must not take the connection down
                logger.exception("a resource subscription stopped on an unexpected error")
            finally:
                release()
                if self.watches.get(uri) is task:
                    del self.watches[uri]

        task = asyncio.get_running_loop().create_task(run(), name=f"mixpeek-subscription {uri[:80]}")
        self.watches[uri] = task

    def stop(self, uri: str) -> None:
        task = self.watches.pop(uri, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        if self.session_id is not None:
            _SESSIONS_WITH_WATCHES.pop(self.session_id, None)
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
    credentials = request_credentials(ctx, state)
    try:
        release = state.caps.acquire(SUBSCRIPTIONS, credentials)
    except CapReached as reached:
        raise reached.as_mcp_error() from None
    try:
        subscription = await first_look(state.poller, credentials, [task_id])
    except UnknownTask as unknown:
        release()
        raise MCPError(code=INVALID_PARAMS, message=f"Cannot subscribe to {echo(uri, 100)}: {unknown}") from None
    except BaseException:
        release()
        raise

    async def notify() -> None:
        await connection.send_resource_updated(uri)

    async def watch() -> None:
        ended = await watch_task(subscription, task_id, notify)
        if ended is not None:  # the key was refused: end visibly, not silently
            await connection.send_resource_updated(uri)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # log notifications are deprecated from 2026-07-28, not before
                await connection.log("error", f"The subscription to {uri} ended: {reason(ended)}", "mixpeek-tasks")

    watches.start(uri, watch(), release)
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
        try:
            release = state.caps.acquire(LISTEN_STREAMS, credentials)
        except CapReached as reached:
            raise reached.as_mcp_error() from None
        self.open_streams += 1
        observe.listen_stream_opened()
        ended: list[str] = []
        try:
            looked = await first_look(state.poller, credentials, [task_id for _, task_id in tasks])
            watched = _one_per_task(state.poller, credentials, looked, [task_id for _, task_id in tasks])
            async with anyio.create_task_group() as group:
                for uri, task_id in tasks:

                    async def notify(uri: str = uri) -> None:
                        await bus.publish(ResourceUpdated(uri=uri))

                    async def watch(uri: str = uri, task_id: str = task_id, notify: Notify = notify) -> None:
                        error = await watch_task(watched[task_id], task_id, notify)
                        if error is not None:  # the key was refused: the stream ends, saying why
                            ended.append(f"The subscription to {uri} ended: {reason(error)}")
                            group.cancel_scope.cancel()

                    group.start_soon(watch)
                try:
                    result = await ListenHandler(bus)(ctx, params)
                finally:
                    group.cancel_scope.cancel()
        except UnknownTask as unknown:
            raise MCPError(code=INVALID_PARAMS, message=f"Cannot listen: {unknown}") from None
        finally:
            self.open_streams -= 1
            observe.listen_stream_closed()
            release()
        if ended:
            raise MCPError(code=INVALID_REQUEST, message=ended[0])
        return result


def _one_per_task(
    poller: Poller, credentials: Credentials, looked: Subscription, task_ids: list[str]
) -> dict[str, Subscription]:
    """A subscription per task (each watch reads its own updates); the first look's checks are fresh, so the
    poller answers each new one from them."""
    if len(task_ids) == 1:
        return {task_ids[0]: looked}
    watched = {task_id: poller.subscribe(credentials, [task_id], math.inf) for task_id in task_ids}
    looked.close()
    return watched


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
