"""Observability cost: one list_tasks call over Streamable HTTP with metrics and traces off, metrics on, and
metrics + traces on (OTLP http/protobuf to a loopback sink that answers 200), plus a second "off" server as a
control (its difference is the noise floor). Calls are interleaved round-robin, the order rotating each round,
so every server sees the same machine state; the figure is the median of the per-round differences. Also what
one /metrics scrape costs."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx2
from common import LOOPBACK, Figure, Section, http_server_process, ms, summary_ms
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mixpeek_tasks_mcp.observability import hooks

ARGUMENTS: dict[str, Any] = {"limit": 20}
TARGET_ADDED_MS = 1.0
"""Both on may add at most this much to a call's median."""
TOKEN = "bench-observability-token"


class _Sink(BaseHTTPRequestHandler):
    """An OTLP receiver that reads and drops what it gets (the exporter's cost, not a collector's)."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).received += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Answer:
    status = 200


class _FakeClient:
    """The client's two decorated methods around nothing: what the hooks alone cost per Mixpeek call."""

    @hooks.mixpeek_request
    async def request(self, method: str, path: str) -> _Answer:
        return await self.send()

    @hooks.mixpeek_attempt
    async def send(self) -> _Answer:
        return _Answer()


async def hook_cost(calls: int) -> dict[str, float]:
    """Microseconds per Mixpeek call spent in the hooks: off, metrics, metrics + traces (spans batched to an
    exporter that drops them), in this process."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from mixpeek_tasks_mcp.observability.metrics import Metrics
    from mixpeek_tasks_mcp.observability.recorder import LiveRecorder

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    recorders: dict[str, hooks.Recorder] = {
        "off": hooks.Recorder(),
        "metrics": LiveRecorder(Metrics(), None),
        "metrics_traces": LiveRecorder(Metrics(), provider.get_tracer("bench")),
    }
    client = _FakeClient()
    chunks, per_chunk = 20, max(1, calls // 20)
    timings: dict[str, list[float]] = {name: [] for name in recorders}
    try:
        for _ in range(chunks):  # interleaved chunks: a load spike hits every variant alike
            for name, recorder in recorders.items():
                hooks.install(recorder)
                start = time.perf_counter()
                for index in range(per_chunk):
                    await client.request("GET", f"/v1/tasks/{index}")
                timings[name].append((time.perf_counter() - start) / per_chunk)
    finally:
        hooks.uninstall()
        provider.shutdown()
    return {name: round(statistics.median(values) * 1e6, 2) for name, values in timings.items()}


async def run(api_base: str, *, rounds: int, warmup: int = 20) -> Section:
    common = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "0", "MIXPEEK_MCP_AUTH_TOKEN": TOKEN}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with otlp_sink() as sink, ExitStack() as stack:
        variants = {
            "off": stack.enter_context(http_server_process(api_base, **common))[0],
            "off_control": stack.enter_context(http_server_process(api_base, **common))[0],
            "metrics": stack.enter_context(http_server_process(api_base, MIXPEEK_METRICS="true", **common))[0],
            "metrics_traces": stack.enter_context(
                http_server_process(
                    api_base,
                    MIXPEEK_METRICS="true",
                    OTEL_EXPORTER_OTLP_ENDPOINT=sink,
                    OTEL_BSP_SCHEDULE_DELAY="200",
                    **common,
                )
            )[0],
        }
        async with AsyncExitStack() as sessions:
            clients: dict[str, ClientSession] = {}
            for name, url in variants.items():
                http = await sessions.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=60))
                streams = await sessions.enter_async_context(streamable_http_client(url, http_client=http))
                read, write = streams[0], streams[1]
                session = await sessions.enter_async_context(ClientSession(read, write))
                await session.initialize()
                clients[name] = session
            samples: dict[str, list[float]] = {name: [] for name in clients}
            order = list(clients.items())
            for index in range(warmup + rounds):
                shift = index % len(order)  # each variant goes first as often as the others
                for name, session in order[shift:] + order[:shift]:
                    start = time.perf_counter()
                    result = await session.call_tool("list_tasks", ARGUMENTS)
                    elapsed = time.perf_counter() - start
                    assert not result.is_error, result
                    if index >= warmup:
                        samples[name].append(elapsed)
        scrape_url = variants["metrics"].rsplit("/", 1)[0] + "/metrics"
        scrapes: list[float] = []
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            for _ in range(50):
                start = time.perf_counter()
                response = await http.get(scrape_url)
                scrapes.append(time.perf_counter() - start)
                response.raise_for_status()
            scrape_bytes = len(response.content)
        await anyio.sleep(0.5)  # the batch processor's last export
    hooks_us = await hook_cost(20_000)
    stats = {name: summary_ms(values) for name, values in samples.items()}
    base = stats["off"]["median"]
    # paired: each round's call with a signal on minus the same round's call with both off
    added = {
        name: round(ms(statistics.median(a - b for a, b in zip(values, samples["off"], strict=True))), 3)
        for name, values in samples.items()
        if name != "off"
    }
    section = Section(
        "observability",
        data={
            "arguments": ARGUMENTS,
            "rounds": rounds,
            "ms": stats,
            "added_median_ms": added,
            "scrape_ms": summary_ms(scrapes),
            "scrape_bytes": scrape_bytes,
            "otlp_exports_received": _Sink.received,
            "hook_us_per_mixpeek_call": hooks_us,
        },
    )
    section.figures.append(
        Figure(
            "13. added per call, metrics + traces on vs off (median of paired differences)",
            f"<= {TARGET_ADDED_MS} ms",
            f"{added['metrics_traces']:.2f} ms (off {base:.2f} ms; metrics only {added['metrics']:+.2f} ms; "
            f"a second off server {added['off_control']:+.2f} ms)",
            added["metrics_traces"] <= TARGET_ADDED_MS,
        )
    )
    section.figures.append(
        Figure(
            "13. hooks per Mixpeek call, in-process: off / metrics / metrics + traces",
            "(no target)",
            f"{hooks_us['off']:.1f} / {hooks_us['metrics']:.1f} / {hooks_us['metrics_traces']:.1f} us",
        )
    )
    section.figures.append(
        Figure(
            "13. one /metrics scrape (median)",
            "(no target)",
            f"{summary_ms(scrapes)['median']:.2f} ms, {scrape_bytes:,} bytes; {_Sink.received} OTLP exports received",
        )
    )
    return section
