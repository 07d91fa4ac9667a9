"""Two clients with two passthrough keys wait at the same time over Streamable HTTP, on one server and its
shared poller: the sandbox's request log shows each request carried the key of the tasks it asked about, and
no batched request mixed the two keys' tasks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

from .conftest import SERVER_KEY, ServeFactory, api_requests, fingerprint, mcp_session

pytestmark = pytest.mark.anyio
BOUND = 60.0
ALICE_KEY = "sk_http_tests_alice_1111111111"
BOB_KEY = "sk_http_tests_bob_2222222222"
TASKS_PER_CLIENT = 3


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """This module's sandbox accepts the server's key and both clients' keys."""
    config = SandboxConfig(port=0, api_keys=[SERVER_KEY, ALICE_KEY, BOB_KEY], tasks=20, simulate=False)
    with running_sandbox(config) as running:
        yield running


def _scripted(sandbox: RunningSandbox, finish_after: float) -> str:
    script = [{"after_seconds": 0.1, "status": "IN_PROGRESS"}, {"after_seconds": finish_after, "status": "COMPLETED"}]
    task = sandbox.create_task(task_type="api_buckets_batches_process", status="PENDING", script=script)
    return str(task["task_id"])


def _ids_asked(entry: dict[str, Any]) -> set[str]:
    """The task ids one logged /v1 request asked about: the GET's path, or the list's task_id filter."""
    if entry["method"] == "GET":
        return {entry["path"].rsplit("/", 1)[-1]}
    body = entry.get("body") or {}
    conditions = (body.get("filters") or {}).get("AND") or [] if isinstance(body, dict) else []
    return {str(i) for c in conditions if c.get("field") == "task_id" for i in c.get("value") or []}


async def test_two_passthrough_keys_wait_at_once_and_never_share_a_request(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    owned = {
        fingerprint(ALICE_KEY): [_scripted(sandbox, 2.0 + 0.3 * n) for n in range(TASKS_PER_CLIENT)],
        fingerprint(BOB_KEY): [_scripted(sandbox, 2.2 + 0.3 * n) for n in range(TASKS_PER_CLIENT)],
    }
    results: dict[str, dict[str, Any]] = {}

    async def wait(key: str) -> None:
        async with mcp_session(server.url, {"X-Mixpeek-Api-Key": key}) as session:
            arguments = {"task_ids": owned[fingerprint(key)], "timeout_seconds": 30}
            result = await session.call_tool("wait_for_task", arguments)
            assert not result.is_error, result.content
            results[key] = result.structured_content or {}

    sandbox.clear_requests()
    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(wait, ALICE_KEY)
            group.start_soon(wait, BOB_KEY)
    assert {key: result["outcome"] for key, result in results.items()} == {
        ALICE_KEY: "all_finished",
        BOB_KEY: "all_finished",
    }
    polls = [entry for entry in api_requests(sandbox) if _ids_asked(entry)]
    assert {entry["key_fingerprint"] for entry in polls} == set(owned), "both keys polled, and no other key"
    for entry in polls:
        mine = set(owned[entry["key_fingerprint"]])
        assert _ids_asked(entry) <= mine, f"request {entry['id']} asked about another key's tasks"
    batched = [entry for entry in polls if entry["method"] == "POST"]
    assert {entry["key_fingerprint"] for entry in batched} == set(owned), "each key's tasks were batched"
