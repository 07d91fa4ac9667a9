"""Build the MCP server: the tools plus a lifespan that owns one shared API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus, SubscriptionBus

from . import __version__
from .client import TasksClient
from .completions import register_completions
from .prompts import register_prompts
from .request_scope import RequestScope
from .resources import register_resources
from .settings import Settings
from .statuses import STATUS_RULES_TEXT
from .subscriptions import register_subscriptions
from .tools import AppState, build_tools
from .ui import board_extension, negotiate_apps, with_board

if TYPE_CHECKING:
    from .shared.setup import SharedState

LIST_TTL_MS = 3_600_000
"""tools/list, prompts/list and resources/list never change while a release runs; an hour lets 2026-07-28
clients stop re-listing on every call and still see an upgrade the same day. ``private``: the lists depend on
the client (MCP Apps support, negotiate_apps), so a cache shared across clients could serve the wrong one."""
LIST_CACHE_HINTS: dict[CacheableMethod, CacheHint] = {
    "tools/list": CacheHint(ttl_ms=LIST_TTL_MS, scope="private"),
    "prompts/list": CacheHint(ttl_ms=LIST_TTL_MS, scope="private"),
    "resources/list": CacheHint(ttl_ms=LIST_TTL_MS, scope="private"),
    "resources/templates/list": CacheHint(ttl_ms=LIST_TTL_MS, scope="private"),
}

INSTRUCTIONS = (
    "Read-only access to Mixpeek's asynchronous tasks. Use list_tasks to find tasks (e.g. what failed in the "
    "last batch), triage_tasks to learn what is failing or stuck and why across many tasks in one call, and "
    "wait_for_task to wait on one task, several (task_ids), or everything a selection matches. " + STATUS_RULES_TEXT
)


def build_server(settings: Settings, *, state: AppState | None = None) -> MCPServer[AppState]:
    """The MCP server for these settings. ``state`` lets tests inject a client or clock."""

    shared: list[AppState] = []
    users = 0
    replicas: SharedState | None = None
    if settings.redis_url is not None:  # only then is a Redis client imported
        from .shared.setup import SharedState

        replicas = SharedState(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        """One AppState (client, budget, poller) for every session of this server, whichever transport: SSE
        enters the lifespan per connection, Streamable HTTP once. Closed when the last user leaves."""
        nonlocal users
        if state is not None:
            try:
                yield state
            finally:
                await state.poller.aclose()
            return
        if not shared:
            shared.append(AppState(settings=settings, client=TasksClient(settings)))
            if replicas is not None:
                replicas.attach(shared[0])
                await replicas.start()
        users += 1
        current = shared[0]
        try:
            yield current
        finally:
            users -= 1
            if users == 0 and shared and shared[0] is current:
                shared.clear()
                await current.poller.aclose()
                await current.client.aclose()
                if replicas is not None:
                    await replicas.stop()

    # resource updates for subscriptions/listen streams; through Redis, those of every replica
    bus: SubscriptionBus = replicas.bus if replicas is not None else InMemorySubscriptionBus()
    server = MCPServer(
        name="mixpeek-tasks-mcp",
        title="Mixpeek tasks",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=with_board(build_tools(settings)),
        extensions=[board_extension()],
        middleware=[negotiate_apps, RequestScope()],
        lifespan=lifespan,
        log_level=settings.log_level,
        subscriptions=bus,
        cache_hints=LIST_CACHE_HINTS,
    )
    register_resources(server)
    register_prompts(server)
    register_completions(server)
    register_subscriptions(server, settings, bus)
    return server
