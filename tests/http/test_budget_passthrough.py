"""Two passthrough keys on one Streamable HTTP server: while key A meets nothing but 429s, key B's list_tasks
calls are not held by A's pauses (one budget per key, a 429 pauses only its own key)."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx2
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

from .conftest import SERVER_KEY, ServeFactory, api_requests, fingerprint, mcp_session

pytestmark = pytest.mark.anyio
A_KEY = "sk_http_tests_tenant_a_3333333333"
B_KEY = "sk_http_tests_tenant_b_4444444444"
LIMIT, WINDOW = 20, 10.0
B_CALLS = 12


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        port=0,
        api_keys=[SERVER_KEY, A_KEY, B_KEY],
        tasks=400,
        simulate=False,
        rate_limit_rpm=LIMIT,
        rate_limit_window=WINDOW,
    )
    with running_sandbox(config) as running:
        yield running


async def test_a_throttled_tenant_never_holds_up_another_tenants_lists(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    a_tasks = [
        str(sandbox.create_task(task_type="api_buckets_batches_process", status="IN_PROGRESS")["task_id"])
        for _ in range(3)
    ]
    b_results = []
    stop, full = anyio.Event(), anyio.Event()

    async def another_process_drains_a() -> None:
        """Someone else uses key A flat out, so every request of A's meets a full window."""
        headers = {"Authorization": f"Bearer {A_KEY}", "User-Agent": "drainer"}
        async with httpx2.AsyncClient(base_url=sandbox.base_url, headers=headers) as http:
            while not stop.is_set():
                if (await http.post("/v1/tasks/list", params={"limit": "1"}, json={})).status_code == 429:
                    full.set()
                await anyio.sleep(0.05)

    async def tenant_a() -> None:
        async with (
            mcp_session(server.url, {"X-Mixpeek-Api-Key": A_KEY}) as session,
            anyio.create_task_group() as group,
        ):
            for task_id in a_tasks:
                group.start_soon(session.call_tool, "wait_for_task", {"task_id": task_id, "timeout_seconds": 12})
            group.start_soon(session.call_tool, "triage_tasks", {"timeout_seconds": 12})

    async def tenant_b() -> None:
        async with mcp_session(server.url, {"X-Mixpeek-Api-Key": B_KEY}) as session:
            for index in range(B_CALLS):
                b_results.append(await session.call_tool("list_tasks", {"limit": 5, "offset": index}))
                await anyio.sleep(0.5)

    sandbox.clear_requests()
    with anyio.fail_after(90):
        async with anyio.create_task_group() as group:
            group.start_soon(another_process_drains_a)
            await full.wait()  # A's window is full before either tenant starts
            async with anyio.create_task_group() as tenants:
                tenants.start_soon(tenant_a)
                tenants.start_soon(tenant_b)
            stop.set()
    ours = [entry for entry in api_requests(sandbox) if entry.get("user_agent") != "drainer"]
    a_sent = [entry for entry in ours if entry["key_fingerprint"] == fingerprint(A_KEY)]
    b_sent = [entry for entry in ours if entry["key_fingerprint"] == fingerprint(B_KEY)]
    # A was refused (a request of A's sent right as a slot of its window frees may still win it: a race with
    # the drainer, not a property of the server)
    assert any(entry["status"] == 429 for entry in a_sent), "A was throttled"
    assert [result.is_error for result in b_results] == [False] * B_CALLS
    texts = [" ".join(getattr(block, "text", "") for block in result.content) for result in b_results]
    assert not any("request budget" in text for text in texts), "B never waited on A's pause"
    assert len(b_sent) == B_CALLS and {entry["status"] for entry in b_sent} == {200}
