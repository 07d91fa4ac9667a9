"""Build the MCP server: the tools plus a lifespan that owns one shared API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus, SubscriptionBus

from . import __version__
from .client import TasksClient
from .completions import register_completions
from .observability.config import wanted as observability_wanted
from .prompts import register_prompts
from .request_scope import RequestScope
from .resources import register_resources
from .settings import Settings
from .shared_lists import SharedListResults
from .short_errors import short_errors
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
    "last batch), triage_tasks to learn what is failing or stuck and why across many tasks in one call, "
    "inspect_batch for one batch's tiers, logs and failed documents, and "
    "wait_for_task to wait on one task, several (task_ids), or everything a selection matches. " + STATUS_RULES_TEXT
)
WRITES_INSTRUCTIONS = (
    " Writes are on: cancel_tasks and retry_batch act on Mixpeek after a confirmation. Never confirm for the "
    "user: show them the preview and act only on their explicit yes."
)


def instructions_for(settings: Settings) -> str:
    if not settings.allow_writes:
        return INSTRUCTIONS
    return INSTRUCTIONS.replace("Read-only access to", "Access to", 1) + WRITES_INSTRUCTIONS


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
            limiter = replicas.limiter if replicas is not None else None  # every replica's budget per key, in Redis
            shared.append(AppState(settings=settings, client=TasksClient(settings, shared=limiter)))
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
    tools = with_board(build_tools(settings))
    observed: list[Any] = []
    if observability_wanted(settings).any:  # off: nothing of observability/ beyond its hooks is imported
        from .observability.recorder import enable, middleware

        observed = middleware(enable(settings), [tool.name for tool in tools])
    server = MCPServer(
        name="mixpeek-tasks-mcp",
        title="Mixpeek tasks",
        version=__version__,
        instructions=instructions_for(settings),
        tools=tools,
        extensions=[board_extension()],
        middleware=[SharedListResults(), short_errors, negotiate_apps, RequestScope(), *observed],
        lifespan=lifespan,
        log_level=settings.log_level,
        subscriptions=bus,
        cache_hints=LIST_CACHE_HINTS,
    )
    register_resources(server)
    register_prompts(server, allow_writes=settings.allow_writes)
    register_completions(server)
    register_subscriptions(server, settings, bus)
    return server
