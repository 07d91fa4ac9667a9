"""The span tree of real MCP calls with traces on: MCP span > triage page spans > HTTP spans, the trace
continued from the caller's ``_meta``, tool failures marked as errors, and no secret in any attribute.

In-process (the SDK's Client against our server on the sandbox), with the OpenTelemetry SDK's in-memory
exporter behind the same scrubbing exporter production uses. The global tracer provider can be set once per
process: the module installs it once, and turns the hooks back off (and its exporter to dropping) afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mixpeek_tasks_mcp.observability import recorder, tracing
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import SECRET_KEY, api_requests, session

pytestmark = pytest.mark.anyio
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
ERROR_TEXT = "credential sk_test_e2e_5f0c2d9a7b13 rejected by upstream gateway"


class SwitchableExporter(InMemorySpanExporter):
    """Keeps spans while on; afterwards drops them (the provider stays global for the rest of the run)."""

    on = True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return super().export(spans) if self.on else SpanExportResult.SUCCESS


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = SwitchableExporter()
    tracing.install_tracer_provider([memory], batch=False)
    recorder.use(recorder.LiveRecorder(metrics=None, tracer=tracing.tracer()))
    yield memory
    recorder.use(None)
    memory.on = False
    memory.clear()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def children(all_spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in all_spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def attribute_texts(span: ReadableSpan) -> list[str]:
    texts = [span.name, span.status.description or ""]
    texts += [str(value) for value in (span.attributes or {}).values()]
    for event in span.events:
        texts += [event.name, *(str(value) for value in (event.attributes or {}).values())]
    return texts


def tool_span(all_spans: list[ReadableSpan], tool: str) -> ReadableSpan:
    (span,) = [s for s in all_spans if s.name == f"tools/call {tool}" and s.kind == SpanKind.SERVER]
    return span


async def test_triage_span_tree(settings: Settings, sandbox: RunningSandbox, spans: InMemorySpanExporter) -> None:
    arguments: dict[str, Any] = {"filters": {"field": "status", "operator": "ne", "value": "DRAFT"}}
    async with session(settings) as client:
        result = await client.call_tool("triage_tasks", arguments, meta={"traceparent": TRACEPARENT})
    assert not result.is_error
    pages = len(api_requests(sandbox, "/v1/tasks/list"))
    assert pages >= 2  # a tree, not a single branch

    finished = list(spans.get_finished_spans())
    mcp = tool_span(finished, "triage_tasks")
    assert mcp.context is not None and mcp.parent is not None
    assert format(mcp.context.trace_id, "032x") == TRACE_ID  # continued from _meta
    assert format(mcp.parent.span_id, "016x") == PARENT_ID
    assert (mcp.attributes or {})["gen_ai.tool.name"] == "triage_tasks"
    assert mcp.status.status_code != StatusCode.ERROR

    page_spans = children(finished, mcp)
    assert [s.name for s in page_spans] == ["triage page"] * pages
    assert [(s.attributes or {})["mixpeek.triage.page"] for s in page_spans] == list(range(1, pages + 1))
    for number, page in enumerate(page_spans, 1):
        (http,) = children(finished, page)
        attributes = http.attributes or {}
        assert http.name == "POST /v1/tasks/list" and http.kind == SpanKind.CLIENT
        assert attributes["url.template"] == "/v1/tasks/list"
        assert attributes["http.response.status_code"] == 200
        assert attributes["mixpeek.retries"] == 0
        # the first page goes at once; later ones are background work, paced one per token across the window
        waited = attributes["mixpeek.budget_wait_seconds"]
        assert waited == 0 if number == 1 else isinstance(waited, float) and waited >= 0
        assert children(finished, http) == []
    for span in finished:
        assert not any(SECRET_KEY in text for text in attribute_texts(span)), span.name


async def test_failures_are_errors_without_their_text(
    settings: Settings, sandbox: RunningSandbox, spans: InMemorySpanExporter
) -> None:
    sandbox.set_faults(force_status={"status": 401, "count": 1, "route": "list_tasks", "message": ERROR_TEXT})
    async with session(settings) as client:
        result = await client.call_tool("triage_tasks", {"status": "FAILED"})
        assert result.is_error
        sandbox.set_faults(force_status={"status": 429, "count": 1, "retry_after": 0, "route": "list_tasks"})
        retried = await client.call_tool("list_tasks", {"limit": 1})
        assert not retried.is_error
    finished = list(spans.get_finished_spans())

    failed = tool_span(finished, "triage_tasks")
    assert failed.status.status_code == StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "tool_error"
    (page,) = children(finished, failed)
    (http,) = children(finished, page)
    assert http.status.status_code == StatusCode.ERROR
    assert (http.attributes or {})["error.type"] == "401"
    assert (http.attributes or {})["http.response.status_code"] == 401

    listed = tool_span(finished, "list_tasks")
    (http,) = children(finished, listed)  # list_tasks makes no page span: its HTTP span hangs off the MCP span
    assert (http.attributes or {})["mixpeek.retries"] == 1
    assert (http.attributes or {})["mixpeek.attempts"] == 2
    assert (http.attributes or {})["http.response.status_code"] == 200
    for span in finished:
        texts = attribute_texts(span)
        assert not any(SECRET_KEY in text or "upstream gateway" in text for text in texts), span.name
        assert span.status.description is None


async def test_poller_batches_are_root_spans(
    settings: Settings, sandbox: RunningSandbox, spans: InMemorySpanExporter
) -> None:
    """The shared poller serves every wait at once: its batch is a trace of its own, not any one call's child."""
    done = sandbox.create_task(status="COMPLETED")
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"task_id": done["task_id"], "timeout_seconds": 10})
    assert not result.is_error
    finished = list(spans.get_finished_spans())
    wait = tool_span(finished, "wait_for_task")
    (batch,) = [s for s in finished if s.name == "poller batch"]
    assert batch.parent is None
    assert wait.context is not None
    assert [link.context.span_id for link in batch.links] == [wait.context.span_id]  # back to the wait
    assert (batch.attributes or {})["mixpeek.poller.tasks"] == 1
    assert (batch.attributes or {})["mixpeek.poller.requests"] == 1
    (http,) = children(finished, batch)
    assert http.name == "GET /v1/tasks/{task_id}"
    assert done["task_id"] not in attribute_texts(http)[0]  # the route template, never the id
    assert children(finished, wait) == []


def test_nothing_of_it_is_imported_when_off() -> None:
    """Start-up with default settings loads the hooks only: no OpenTelemetry SDK, no prometheus-client."""
    script = (
        "import sys; from mixpeek_tasks_mcp.server import build_server; from mixpeek_tasks_mcp.settings import "
        "Settings; build_server(Settings()); print(sorted(m for m in sys.modules if m.startswith(("
        "'opentelemetry.sdk', 'prometheus_client', 'mixpeek_tasks_mcp.observability'))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIXPEEK_", "OTEL_"))}
    loaded = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == str(
        [
            "mixpeek_tasks_mcp.observability",
            "mixpeek_tasks_mcp.observability.config",
            "mixpeek_tasks_mcp.observability.hooks",
        ]
    )
