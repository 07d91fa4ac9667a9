"""Traces turned on by the standard OTEL_* variables alone: the real CLI exports OTLP (http/protobuf) to a
receiver on loopback, continuing the trace a client sends in ``_meta``; over stdio a console exporter writes
to stderr and the protocol on stdout stays clean."""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from ..processes import clean_env
from .conftest import SERVER_KEY, TOKEN, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER = SpanContext(int(TRACE_ID, 16), 0xB7AD6B7169203331, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """An OTLP/HTTP trace receiver on loopback that keeps every request it decodes."""
    received: list[ExportTraceServiceRequest] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def spans_of(requests: list[ExportTraceServiceRequest]) -> list[tuple[dict[str, Any], Any]]:
    """(resource attributes, span) for every span received."""
    found = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                found += [(resource, span) for span in scope.spans]
    return found


async def test_otel_endpoint_alone_turns_traces_on(sandbox: RunningSandbox, serve: ServeFactory) -> None:
    with otlp_receiver() as (endpoint, received):
        server = serve(
            "streamable-http",
            MIXPEEK_MCP_AUTH_TOKEN=TOKEN,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_BSP_SCHEDULE_DELAY="50",
        )
        async with mcp_session(server.url, {"Authorization": f"Bearer {TOKEN}"}) as session:
            # the caller's trace is current: the client's SDK sends it in _meta (as its own span's child when
            # this process has a tracer provider, as it is when no provider is installed)
            with trace.use_span(NonRecordingSpan(CALLER)):
                result = await session.call_tool("list_tasks", {"limit": 1})
            assert not result.is_error
        server.stop()  # the app flushes the batch processor on shutdown
    spans = spans_of(received)
    by_name = {span.name: (resource, span) for resource, span in spans}
    resource, tool = by_name["tools/call list_tasks"]
    assert resource["service.name"] == "mixpeek-tasks-mcp"
    assert tool.trace_id.hex() == TRACE_ID
    _, http = by_name["POST /v1/tasks/list"]
    assert http.parent_span_id == tool.span_id and http.trace_id == tool.trace_id
    attributes = {a.key: a.value for a in http.attributes}
    assert attributes["url.template"].string_value == "/v1/tasks/list"
    assert attributes["http.response.status_code"].int_value == 200
    for _, span in spans:
        assert SERVER_KEY.encode() not in span.SerializeToString() and TOKEN.encode() not in span.SerializeToString()


async def test_stdio_traces_go_to_stderr_only_when_asked(sandbox: RunningSandbox) -> None:
    env = clean_env(
        MIXPEEK_API_KEY=SERVER_KEY,
        MIXPEEK_API_BASE=sandbox.base_url,
        OTEL_TRACES_EXPORTER="console",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    params = StdioServerParameters(command=sys.executable, args=["-m", "mixpeek_tasks_mcp"], env=env)
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()  # stdout is the protocol: any span printed there would break this
            result = await session.call_tool("list_tasks", {"limit": 1})
            assert not result.is_error
        errlog.seek(0)
        logged = errlog.read()
    assert '"name": "tools/call list_tasks"' in logged and '"name": "POST /v1/tasks/list"' in logged
    assert SERVER_KEY not in logged
