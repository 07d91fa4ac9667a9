"""The Prometheus figures (the ``[metrics]`` extra), and the MCP middleware that counts tool calls.

A failed tool call is a successful JSON-RPC response carrying ``isError: true``, so HTTP error rates miss it:
``mixpeek_mcp_tool_calls_total{tool, outcome}`` tells ``ok``, ``tool_error`` (the tool answered with an error:
refused arguments, an upstream failure) and ``protocol_error`` (no result: unknown tool, malformed request).
Every label comes from a bounded set (labels.py).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics

from .. import __version__
from .labels import OTHER, known

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
UPSTREAM_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WAIT_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
MCP_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "subscriptions/listen",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
    }
)


class Metrics:
    """Every figure, on its own registry (never the global one: tests may build several)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: noise nobody reads
        r = self.registry = CollectorRegistry()
        Info("mixpeek_mcp_build", "The server's version.", registry=r).info({"version": __version__})
        self.mcp_requests = Counter(
            "mixpeek_mcp_requests", "MCP requests by method and outcome (ok, error).", ["method", "outcome"], registry=r
        )
        self.tool_calls = Counter(
            "mixpeek_mcp_tool_calls", "Tool calls by tool and outcome (ok, tool_error, protocol_error).",
            ["tool", "outcome"], registry=r,
        )  # fmt: skip
        self.tool_seconds = Histogram(
            "mixpeek_mcp_tool_call_duration_seconds", "Tool call latency.", ["tool", "outcome"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tool_in_flight = Gauge(
            "mixpeek_mcp_tool_calls_in_flight", "Tool calls running (wait_for_task: open waits).", ["tool"], registry=r
        )
        self.upstream_requests = Counter(
            "mixpeek_upstream_requests", "Mixpeek calls (retries included) by route template and final status.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.upstream_seconds = Histogram(
            "mixpeek_upstream_request_duration_seconds", "Mixpeek call latency, retries and budget waits included.",
            ["method", "route"], buckets=UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream_attempts = Counter(
            "mixpeek_upstream_attempts", "HTTP attempts to Mixpeek by route and status (network_error, timeout...).",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.upstream_retries = Counter(
            "mixpeek_upstream_retries", "Attempts after the first of a Mixpeek call.", ["method", "route"], registry=r
        )
        self.upstream_rate_limited = Counter(
            "mixpeek_upstream_rate_limited", "429 answers from Mixpeek.", ["route"], registry=r
        )
        self.budget_wait = Histogram(
            "mixpeek_budget_wait_seconds", "Sleeps for the request budget, by key label.", ["key"],
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self.budget_limit = Gauge(
            "mixpeek_budget_limit_per_minute", "The request budget per key label (0 = unlimited).", ["key"], registry=r
        )
        self.poller_batches = Counter("mixpeek_poller_batches", "Check batches of the shared poller.", registry=r)
        self.poller_checks = Counter("mixpeek_poller_checks", "Task checks the poller made.", registry=r)
        self.poller_requests = Counter(
            "mixpeek_poller_requests", "Mixpeek calls the poller made (checks / requests = coalescing).", registry=r
        )
        self.poller_entries = Gauge("mixpeek_poller_entries", "Tasks the shared poller follows.", registry=r)
        self._pollers: weakref.WeakSet[Any] = weakref.WeakSet()
        self.poller_entries.set_function(self._entries)
        self.triage_pages = Counter("mixpeek_triage_pages", "Pages read by triage_tasks scans.", registry=r)
        self.sessions = Gauge("mixpeek_mcp_sessions", "Open Streamable HTTP sessions.", registry=r)
        self._session_sources: list[Callable[[], int]] = []
        self.sessions.set_function(lambda: float(sum(source() for source in self._session_sources)))
        self.http_streams = Gauge(
            "mixpeek_http_open_streams", "Open long-lived GET streams (SSE, Streamable HTTP GET).", registry=r
        )
        self.listen_streams = Gauge("mixpeek_mcp_listen_streams", "Open subscriptions/listen streams.", registry=r)
        self.task_watches = Gauge(
            "mixpeek_mcp_resource_subscriptions", "Task resources watched for subscribers (both eras).", registry=r
        )
        self._redis: tuple[Gauge, Counter] | None = None

    @property
    def redis(self) -> tuple[Gauge, Counter]:
        """``mixpeek_redis_up`` and ``mixpeek_redis_errors_total``, made on the first report (no Redis, no series)."""
        if self._redis is None:
            up = Gauge("mixpeek_redis_up", "1 while the shared-state Redis answers.", registry=self.registry)
            errors = Counter("mixpeek_redis_errors", "Failed Redis operations.", ["operation"], registry=self.registry)
            self._redis = (up, errors)
        return self._redis

    def track_poller(self, poller: Any) -> None:
        self._pollers.add(poller)

    def _entries(self) -> float:
        return float(sum(getattr(poller, "entry_count", 0) for poller in list(self._pollers)))

    def track_sessions(self, source: Callable[[], int]) -> None:
        self._session_sources.append(source)


def tool_outcome(result: Any) -> str:
    """``tool_error`` for a result that reaches the wire with ``isError: true`` (as the SDK's middleware tells it)."""
    match result:
        case CallToolResult(is_error=True) | {"isError": True}:
            return "tool_error"
        case _:
            return "ok"


class McpMetrics:
    """Server middleware: MCP requests by method and outcome; tool calls by tool, outcome and latency."""

    def __init__(self, metrics: Metrics, tool_names: Iterable[str]) -> None:
        self.metrics = metrics
        self.tool_names = frozenset(tool_names)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:  # a notification
            return await call_next(ctx)
        method = known(ctx.method, MCP_METHODS)
        if ctx.method != "tools/call":
            outcome = "error"
            try:
                result = await call_next(ctx)
                outcome = "ok"
                return result
            finally:
                self.metrics.mcp_requests.labels(method, outcome).inc()
        name = ctx.params.get("name") if ctx.params else None
        tool = known(name, self.tool_names) if name is not None else OTHER
        in_flight = self.metrics.tool_in_flight.labels(tool)
        in_flight.inc()
        start = time.perf_counter()
        outcome = "protocol_error"
        try:
            result = await call_next(ctx)
            outcome = tool_outcome(result)
            return result
        finally:
            in_flight.dec()
            self.metrics.tool_calls.labels(tool, outcome).inc()
            self.metrics.tool_seconds.labels(tool, outcome).observe(time.perf_counter() - start)
            self.metrics.mcp_requests.labels(method, "error" if outcome == "protocol_error" else "ok").inc()
