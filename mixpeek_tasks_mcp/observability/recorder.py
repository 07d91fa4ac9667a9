"""What the hooks do once observability is on: spans (when traces are) and figures (when metrics are).

``enable(settings)`` is called by ``build_server`` (and by the CLI before it binds anything, so a missing
extra is a clear start-up error). It is idempotent: one recorder, one tracer provider, one registry per process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from . import hooks
from .config import Wanted, wanted
from .labels import KEY_LABELS, route_template

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from .metrics import Metrics

logger = logging.getLogger(__name__)

MAX_BATCH_LINKS = 32
"""Most waits one poller batch span links to."""


@dataclass
class UpstreamCall:
    """One logical Mixpeek call while it runs: what its attempts and budget waits were."""

    method: str
    route: str
    attempts: int = 0
    last_status: str | None = None
    budget_wait: float = 0.0


@dataclass
class Batch:
    """One poller batch while it runs: the Mixpeek calls made for it (its GETs run in child tasks)."""

    tasks: int
    requests: int = 0


@dataclass
class _Scope:
    """A span made current between a hook's begin and end (and the poller batch being recorded)."""

    batch: Batch | None = None
    batch_token: Token[Batch | None] | None = None
    span: Span | None = None
    context_token: object | None = None

    def enter(self, span: Span) -> None:
        from opentelemetry import context, trace

        self.span = span
        self.context_token = context.attach(trace.set_span_in_context(span))

    def exit(self, error: BaseException | None) -> None:
        if self.span is None:
            return
        from opentelemetry import context
        from opentelemetry.trace import StatusCode

        if self.context_token is not None:
            context.detach(self.context_token)  # type: ignore[arg-type]
        if error is not None and not isinstance(error, asyncio.CancelledError):
            self.span.set_attribute("error.type", type(error).__qualname__)
            self.span.set_status(StatusCode.ERROR)
        self.span.end()


_call: ContextVar[UpstreamCall | None] = ContextVar("mixpeek_upstream_call", default=None)
_batch: ContextVar[Batch | None] = ContextVar("mixpeek_poller_batch", default=None)


def _failure_kind(error: BaseException) -> str:
    """What an attempt that got no answer ended with (the client's own exception names, httpx2's errors)."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    names = {cls.__name__ for cls in type(error).__mro__}
    if "_NoAnswer" in names:
        return "timeout"
    if "_TooLarge" in names:
        return "too_large"
    if "TransportError" in names:
        return "network_error"
    return "error"


class LiveRecorder(hooks.Recorder):
    active = True

    def __init__(self, metrics: Metrics | None, tracer: Tracer | None, provider: Any = None) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.provider = provider
        """The SDK TracerProvider to flush (None: nothing of ours buffers spans)."""

    def flush(self, timeout_seconds: float) -> None:
        if self.provider is not None:
            self.provider.force_flush(int(timeout_seconds * 1000))

    # -- Mixpeek calls --------------------------------------------------------------------------------
    def request_begin(self, method: str, path: str) -> tuple[UpstreamCall, Token[UpstreamCall | None], int, float]:
        record = UpstreamCall(method, route_template(path))
        batch = _batch.get()
        if batch is not None:
            batch.requests += 1
        return record, _call.set(record), time.time_ns(), time.perf_counter()

    def request_end(
        self, state: tuple[UpstreamCall, Token[UpstreamCall | None], int, float] | None, error: BaseException | None
    ) -> None:
        if state is None:
            return
        record, token, started_ns, started = state
        _call.reset(token)
        seconds = time.perf_counter() - started
        if error is not None and isinstance(error, asyncio.CancelledError):
            status = "cancelled"
        elif record.attempts == 0:
            status = "not_sent" if error is not None else "ok"
        else:
            status = record.last_status or "unknown"
        retries = max(0, record.attempts - 1)
        if self.metrics is not None:
            m = self.metrics
            m.upstream_requests.labels(record.method, record.route, status).inc()
            m.upstream_seconds.labels(record.method, record.route).observe(seconds)
            if retries:
                m.upstream_retries.labels(record.method, record.route).inc(retries)
        if self.tracer is not None:
            self._http_span(record, status, retries, error, started_ns)

    def _http_span(
        self, record: UpstreamCall, status: str, retries: int, error: BaseException | None, started_ns: int
    ) -> None:
        """The call's span, made once it is over (it has no children): a child of whatever span is current."""
        from opentelemetry.trace import SpanKind, StatusCode

        assert self.tracer is not None
        attributes: dict[str, Any] = {
            "http.request.method": record.method,
            "url.template": record.route,
            "mixpeek.retries": retries,
            "mixpeek.attempts": record.attempts,
            "mixpeek.budget_wait_seconds": round(record.budget_wait, 6),
        }
        if status.isdigit():
            attributes["http.response.status_code"] = int(status)
        failed = error is not None or (status.isdigit() and int(status) >= 400)
        if failed:
            attributes["error.type"] = status if status not in ("ok", "unknown") else type(error).__name__
        span = self.tracer.start_span(
            f"{record.method} {record.route}", kind=SpanKind.CLIENT, attributes=attributes, start_time=started_ns
        )
        if failed:
            span.set_status(StatusCode.ERROR)
        span.end()

    def attempt_begin(self) -> UpstreamCall | None:
        return _call.get()

    def attempt_end(self, record: UpstreamCall | None, answer: Any, error: BaseException | None) -> None:
        if record is None:
            return
        status = _failure_kind(error) if error is not None else str(getattr(answer, "status", "unknown"))
        record.attempts += 1
        record.last_status = status
        if self.metrics is not None:
            self.metrics.upstream_attempts.labels(record.method, record.route, status).inc()
            if status == "429":
                self.metrics.upstream_rate_limited.labels(record.route).inc()

    # -- budget ---------------------------------------------------------------------------------------
    def budget_wait(self, key_label: str, seconds: float) -> None:
        record = _call.get()
        if record is not None:
            record.budget_wait += seconds
        if self.metrics is not None:
            self.metrics.budget_wait.labels(KEY_LABELS.bounded(key_label)).observe(seconds)

    def learned_limit(self, key_label: str, per_minute: float) -> None:
        if self.metrics is not None:
            self.metrics.budget_limit.labels(KEY_LABELS.bounded(key_label)).set(max(0.0, per_minute))

    # -- poller and triage ----------------------------------------------------------------------------
    def trace_link(self) -> object | None:
        if self.tracer is None:
            return None
        from opentelemetry.trace import get_current_span

        context = get_current_span().get_span_context()
        return context if context.is_valid else None

    def batch_begin(self, poller: object, tasks: int, links: Iterable[object]) -> _Scope:
        if self.metrics is not None:
            self.metrics.track_poller(poller)
        batch = Batch(tasks)
        scope = _Scope(batch=batch, batch_token=_batch.set(batch))
        if self.tracer is not None:
            scope.enter(self._batch_span(tasks, links))
        return scope

    def batch_end(self, scope: _Scope | None, error: BaseException | None) -> None:
        if scope is None or scope.batch is None:
            return
        batch = scope.batch
        if scope.span is not None:
            scope.span.set_attribute("mixpeek.poller.requests", batch.requests)
        scope.exit(error)
        if scope.batch_token is not None:
            _batch.reset(scope.batch_token)
        if self.metrics is not None:
            self.metrics.poller_batches.inc()
            self.metrics.poller_checks.inc(batch.tasks)
            self.metrics.poller_requests.inc(batch.requests)

    def _batch_span(self, tasks: int, links: Iterable[object]) -> Span:
        """A root span: the poller's loop serves every wait at once, so no one tool call is its parent; it links
        to the (at most MAX_BATCH_LINKS) calls whose waits it checks."""
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, SpanContext

        assert self.tracer is not None
        contexts: dict[tuple[int, int], SpanContext] = {}
        for link in links:
            if isinstance(link, SpanContext) and len(contexts) < MAX_BATCH_LINKS:
                contexts.setdefault((link.trace_id, link.span_id), link)
        return self.tracer.start_span(
            "poller batch",
            context=Context(),
            attributes={"mixpeek.poller.tasks": tasks},
            links=[Link(context) for context in contexts.values()],
        )

    def page_begin(self, number: int) -> _Scope:
        if self.metrics is not None:
            self.metrics.triage_pages.inc()
        scope = _Scope()
        if self.tracer is not None:
            scope.enter(self.tracer.start_span("triage page", attributes={"mixpeek.triage.page": number}))
        return scope

    def page_end(self, scope: _Scope | None, error: BaseException | None) -> None:
        if scope is not None:
            scope.exit(error)

    # -- gauges ---------------------------------------------------------------------------------------
    def gauge_step(self, name: str, step: int) -> None:
        if self.metrics is not None:
            gauge = {"task_watches": self.metrics.task_watches, "listen_streams": self.metrics.listen_streams}[name]
            gauge.inc(step)

    def redis_state(self, up: bool) -> None:
        if self.metrics is not None:
            self.metrics.redis[0].set(1 if up else 0)

    def redis_error(self, operation: str) -> None:
        if self.metrics is not None:
            self.metrics.redis[1].labels(operation[:40]).inc()


_enabled: tuple[Wanted, LiveRecorder] | None = None


def enable(settings: Settings) -> LiveRecorder | None:
    """Turn on what the settings and environment ask for (once per process); None when nothing is wanted.

    Raises ValueError when it is asked for but its extra is not installed, or the OTEL_* settings are invalid."""
    global _enabled
    want = wanted(settings)
    if not want.any:
        return None
    if _enabled is not None:
        return _enabled[1]
    metrics: Metrics | None = None
    tracer: Tracer | None = None
    provider: Any = None
    if want.metrics:
        try:
            from .metrics import Metrics
        except ImportError:
            raise ValueError("metrics need prometheus-client: pip install 'mixpeek-tasks-mcp[metrics]'") from None
        metrics = Metrics()
    if want.traces:
        try:
            from . import tracing
        except ImportError:
            raise ValueError("traces need the OpenTelemetry SDK: pip install 'mixpeek-tasks-mcp[otel]'") from None
        provider = tracing.install_tracer_provider()
        tracer = tracing.tracer()
    KEY_LABELS.aliases.update({hash_.lower(): alias for hash_, alias in settings.metrics_key_aliases.items()})
    recorder = LiveRecorder(metrics, tracer, provider)
    hooks.install(recorder)
    _enabled = (want, recorder)
    logger.info("observability on: traces %s, metrics %s", want.traces, want.metrics)
    return recorder


def enabled() -> LiveRecorder | None:
    return _enabled[1] if _enabled is not None else None


def use(recorder: LiveRecorder | None) -> None:
    """Tests: install ``recorder`` (or none) as the process's recorder, whatever the settings say."""
    global _enabled
    if recorder is None:
        _enabled = None
        hooks.uninstall()
        return
    _enabled = (Wanted(traces=recorder.tracer is not None, metrics=recorder.metrics is not None), recorder)
    hooks.install(recorder)


def middleware(recorder: LiveRecorder | None, tool_names: Iterable[str]) -> list[Any]:
    """The MCP server middleware the recorder needs (tool-call figures when metrics are on)."""
    if recorder is None or recorder.metrics is None:
        return []
    from .metrics import McpMetrics

    return [McpMetrics(recorder.metrics, tool_names)]
