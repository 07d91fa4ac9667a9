"""The OpenTelemetry SDK set up for this server (the ``[otel]`` extra): exporter, resource, and the scrubbing
every span passes through before it leaves the process.

The MCP SDK's ``OpenTelemetryMiddleware`` (on by default in mcp 2.3, a no-op until a tracer provider exists)
makes the span of each MCP request, continues the trace context a client sends in ``_meta`` and marks
``isError`` results as errors; this module only installs the provider it reports to. Exporters come from the
standard variables: ``OTEL_TRACES_EXPORTER`` (``otlp``, the default once traces are on, or ``console``, which
writes to stderr: stdout is the protocol on stdio), ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` (``http/protobuf``
by default; ``grpc`` needs ``opentelemetry-exporter-otlp-proto-grpc``), endpoint, headers, ``OTEL_BSP_*``,
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.

What never leaves: status descriptions and exception messages (they may quote an API's error text), and any
key this process has sent, wherever it appears in an attribute.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Status

from .. import __version__
from ..redaction import SECRETS_LOG_FILTER

SERVICE_NAME = "mixpeek-tasks-mcp"
TRACER_NAME = "mixpeek_tasks_mcp"
KEPT_EXCEPTION_ATTRIBUTES = frozenset({"exception.type"})


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return SECRETS_LOG_FILTER.scrub(value)
    if isinstance(value, tuple | list):
        return tuple(_clean(item) for item in value)
    return value


def _clean_attributes(attributes: Mapping[str, Any] | None, keep: frozenset[str] | None = None) -> dict[str, Any]:
    return {name: _clean(value) for name, value in (attributes or {}).items() if keep is None or name in keep}


def scrub(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` without status description, exception messages or stack traces, keys redacted."""
    events = [
        Event(
            event.name,
            _clean_attributes(event.attributes, KEPT_EXCEPTION_ATTRIBUTES if event.name == "exception" else None),
            event.timestamp,
        )
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_clean_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingExporter(SpanExporter):
    """Hands ``inner`` scrubbed copies of the spans (see ``scrub``)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _otlp_exporter(env: Mapping[str, str]) -> SpanExporter:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            raise ValueError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc installed "
                "(the [otel] extra ships the http/protobuf exporter)"
            ) from None
        exporter: SpanExporter = GrpcExporter()
        return exporter
    if protocol not in ("http/protobuf", "http"):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported (http/protobuf or grpc)")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def exporters_from_env(env: Mapping[str, str] | None = None) -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names (``otlp`` when unset)."""
    env = os.environ if env is None else env
    names = [part.strip().lower() for part in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if part.strip()]
    exporters: list[SpanExporter] = []
    for name in names or ["otlp"]:
        if name == "otlp":
            exporters.append(_otlp_exporter(env))
        elif name == "console":
            exporters.append(ConsoleSpanExporter(out=sys.stderr))
        elif name != "none":
            raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported here (otlp, console or none)")
    return exporters


def _resource(env: Mapping[str, str]) -> Resource:
    attributes: dict[str, str] = {"service.version": __version__}
    if not env.get("OTEL_SERVICE_NAME") and "service.name=" not in env.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        attributes["service.name"] = SERVICE_NAME
    return Resource.create(attributes)


def install_tracer_provider(exporters: Sequence[SpanExporter] | None = None, *, batch: bool = True) -> TracerProvider:
    """Make a provider exporting (scrubbed) to ``exporters`` (default: from the environment) the global one.

    ``batch=False`` exports each span as it ends (tests with an in-memory exporter)."""
    env = os.environ
    provider = TracerProvider(resource=_resource(env))
    for exporter in exporters if exporters is not None else exporters_from_env(env):
        wrapped = ScrubbingExporter(exporter)
        provider.add_span_processor(BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped))
    trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__)
