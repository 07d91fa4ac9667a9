"""/metrics after a scripted Streamable HTTP session: every counter moved by exactly what the session did.

The server is the real CLI (``serve --metrics``) in a child process on default settings, against the sandbox
advertising a tight limit (4 requests per 5 s) that its budget learns per key; the figures are read with
prometheus-client's own text parser."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import anyio
import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mixpeek_tasks_mcp.observability.labels import key_hash
from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import SERVER_KEY, TOKEN, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIST = ("POST", "/v1/tasks/list")
GET = ("GET", "/v1/tasks/{task_id}")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str, headers: dict[str, str] | None = None) -> Samples:
    response = httpx2.get(base_url + "/metrics", headers=headers if headers is not None else AUTH, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def series(samples: Samples, name: str) -> Iterable[tuple[dict[str, str], float]]:
    for (sample, labels), number in samples.items():
        if sample == name:
            yield dict(labels), number


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def test_counters_move_by_exactly_what_the_session_did(sandbox: RunningSandbox, serve: ServeFactory) -> None:
    # The sandbox advertises 4 requests per 5 s; the key's budget learns it: the last call must wait for it.
    server = serve("streamable-http", "--metrics", MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    done = sandbox.create_task(status="COMPLETED", task_type="api_buckets_batches_process")
    sandbox.clear_faults()
    sandbox.set_rate_limit(4, window=5)
    try:
        after, before = await _scripted_session(server, sandbox, done)
    finally:
        sandbox.set_rate_limit(600)
    _check_counters(server, before, after, done)


async def _scripted_session(server: Any, sandbox: RunningSandbox, done: dict[str, Any]) -> tuple[Any, Any]:
    async with mcp_session(server.url, AUTH) as session:
        before = scrape(server.base_url)
        await session.list_tools()
        listed = await session.call_tool("list_tasks", {"status": "failed", "limit": 2})
        assert not listed.is_error
        refused = await session.call_tool("list_tasks", {"limit": 500})
        assert refused.is_error and "nothing was sent" in text_of(refused)
        sandbox.set_faults(force_status={"status": 429, "count": 1, "retry_after": 0, "route": "list_tasks"})
        retried = await session.call_tool("list_tasks", {"limit": 1})
        assert not retried.is_error, text_of(retried)
        waited = await session.call_tool("wait_for_task", {"task_id": done["task_id"], "timeout_seconds": 10})
        assert not waited.is_error, text_of(waited)
        missing = await session.call_tool("wait_for_task", {"task_id": "no-such-task", "timeout_seconds": 10})
        assert missing.is_error, text_of(missing)
        # the 4 requests the sandbox counted have used the window: this one sleeps for the budget first
        budgeted = await session.call_tool("list_tasks", {"limit": 1})
        assert not budgeted.is_error, text_of(budgeted)
        return scrape(server.base_url), before


def _check_counters(server: Any, before: Any, after: Any, done: dict[str, Any]) -> None:

    assert delta(before, after, "mixpeek_mcp_requests_total", method="tools/list", outcome="ok") == 1
    calls = "mixpeek_mcp_tool_calls_total"
    assert delta(before, after, calls, tool="list_tasks", outcome="ok") == 3
    assert delta(before, after, calls, tool="list_tasks", outcome="tool_error") == 1
    assert delta(before, after, calls, tool="wait_for_task", outcome="ok") == 1
    assert delta(before, after, calls, tool="wait_for_task", outcome="tool_error") == 1
    assert delta(before, after, calls, tool="triage_tasks", outcome="ok") == 0
    latency = "mixpeek_mcp_tool_call_duration_seconds_count"
    assert delta(before, after, latency, tool="list_tasks", outcome="ok") == 3
    assert value(after, "mixpeek_mcp_tool_calls_in_flight", tool="wait_for_task") == 0

    method, route = LIST
    assert delta(before, after, "mixpeek_upstream_requests_total", method=method, route=route, status="200") == 3
    assert delta(before, after, "mixpeek_upstream_attempts_total", method=method, route=route, status="429") == 1
    assert delta(before, after, "mixpeek_upstream_attempts_total", method=method, route=route, status="200") == 3
    assert delta(before, after, "mixpeek_upstream_retries_total", method=method, route=route) == 1
    assert delta(before, after, "mixpeek_upstream_rate_limited_total", route=route) == 1
    method, route = GET
    assert delta(before, after, "mixpeek_upstream_requests_total", method=method, route=route, status="200") == 1
    assert delta(before, after, "mixpeek_upstream_requests_total", method=method, route=route, status="404") == 1
    routes = {labels["route"] for labels, _ in series(after, "mixpeek_upstream_requests_total")}
    assert routes == {"/v1/tasks/list", "/v1/tasks/{task_id}"}  # templates, never a task id

    # The two waits: one lone task each, so one batch, one check and one GET apiece (nothing to coalesce)
    assert delta(before, after, "mixpeek_poller_batches_total") == 2
    assert delta(before, after, "mixpeek_poller_checks_total") == 2
    assert delta(before, after, "mixpeek_poller_requests_total") == 2
    assert value(after, "mixpeek_poller_entries") == 0

    key = key_hash(SERVER_KEY)  # one budget per key, labelled by the key's short hash (never the key)
    assert delta(before, after, "mixpeek_budget_wait_seconds_count", key=key) >= 1
    assert delta(before, after, "mixpeek_budget_wait_seconds_sum", key=key) > 0
    assert value(after, "mixpeek_budget_limit_per_minute", key=key) == 48
    assert value(after, "mixpeek_mcp_sessions") == 1  # still open when scraped

    text = httpx2.get(server.base_url + "/metrics", headers=AUTH, timeout=10).text
    for secret in (SERVER_KEY, TOKEN, done["task_id"], "no-such-task"):
        assert secret not in text


async def test_metrics_need_the_token_on_the_mcp_port(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--metrics", MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    url = server.base_url + "/metrics"
    bare = httpx2.get(url, timeout=10)
    assert bare.status_code == 401 and "Bearer" in bare.headers["www-authenticate"]
    wrong = httpx2.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401
    assert httpx2.get(url, headers={**AUTH, "Host": "evil.example.com"}, timeout=10).status_code == 421
    assert "mixpeek_mcp_tool_calls" in httpx2.get(url, headers=AUTH, timeout=10).text


async def test_no_metrics_route_unless_turned_on(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    response = httpx2.get(server.base_url + "/metrics", headers=AUTH, timeout=10)
    assert response.status_code != 200 or "mixpeek_" not in response.text


async def _until(condition: Any) -> None:
    while not condition():  # noqa: ASYNC110 - the state lives in the server process
        await anyio.sleep(0.05)


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_subscription_and_stream_gauges(sandbox: RunningSandbox, serve: ServeFactory, transport: str) -> None:
    server = serve(transport, "--metrics", MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    task = sandbox.create_task(task_type="thumbnail", status="PENDING")
    uri = f"mixpeek://tasks/{task['task_id']}"
    with anyio.fail_after(60):
        async with mcp_session(server.url, AUTH) as session:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resources/subscribe is deprecated in the 2026 protocol
                await session.subscribe_resource(uri)
            await _until(lambda: value(scrape(server.base_url), "mixpeek_poller_entries") == 1)
            during = scrape(server.base_url)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await session.unsubscribe_resource(uri)
            await _until(lambda: value(scrape(server.base_url), "mixpeek_mcp_resource_subscriptions") == 0)
            assert value(scrape(server.base_url), "mixpeek_poller_entries") == 0
        await _until(lambda: value(scrape(server.base_url), "mixpeek_http_open_streams") == 0)
    assert value(during, "mixpeek_mcp_resource_subscriptions") == 1
    if transport == "sse":
        assert value(during, "mixpeek_http_open_streams") >= 1  # the SSE stream itself
    else:
        assert value(during, "mixpeek_mcp_sessions") == 1
    assert value(scrape(server.base_url), "mixpeek_mcp_sessions") == 0
