"""One server, two users (issue 18, point 7): one key's scan cannot evict what the server remembers for another.

The triage progress memory (5,000 entries) was keyed by task id alone: user B's 6,000-task scan evicted user
A's observations, and A's next triage could judge none of its tasks (no timestamps, no earlier look).
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from mixpeek_tasks_mcp.client import Credentials
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.waits.poller import credentials_identity
from mixpeek_tasks_mcp.waits.schedule import BackoffMemory

from .conftest import CLIENT_KEY, SERVER_KEY, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
BOUND = 240.0


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """Tasks without created_at/updated_at (as Mixpeek documents them): only an earlier look can judge a stall."""
    config = SandboxConfig(port=0, api_keys=[SERVER_KEY, CLIENT_KEY], tasks=0, simulate=False, timestamps=False)
    with running_sandbox(config) as sb:
        yield sb


async def test_one_keys_big_scan_leaves_another_keys_progress_memory_alone(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    sandbox.create_tasks([{"task_type": "engine_cluster_build", "status": "PROCESSING"} for _ in range(3)])
    for _ in range(6):
        sandbox.create_tasks([{"task_type": "thumbnail", "status": "PROCESSING"} for _ in range(1_000)])
    server = serve("streamable-http", "--allow-key-passthrough")
    mine = {"task_type": "engine_cluster_build"}
    theirs = {"task_type": "thumbnail", "max_tasks": 6_000, "timeout_seconds": 200}
    with anyio.fail_after(BOUND):
        async with (
            mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as a,
            mcp_session(server.url, {"X-Mixpeek-Api-Key": SERVER_KEY}) as b,
        ):
            first = await a.call_tool("triage_tasks", mine)
            assert "3 of 3 active tasks could not be judged" in first.structured_content["stuck_note"]
            scan = await b.call_tool("triage_tasks", theirs)
            assert not scan.is_error and scan.structured_content["scanned"] == 6_000
            again = await a.call_tool("triage_tasks", mine)
    assert not again.is_error
    assert again.structured_content.get("stuck_note") is None, again.structured_content.get("stuck_note")


def test_the_backoff_memory_keeps_each_keys_entries() -> None:
    """Where each task's backoff had got to, per key: B's 1,000 waits leave A's entry (the poller passes the
    subscription's identity)."""
    memory = BackoffMemory(FakeClock(), max_entries=100)
    a, b = credentials_identity(Credentials(CLIENT_KEY)), credentials_identity(Credentials(SERVER_KEY))
    memory.remember("t1", 7, identity=a)
    for number in range(1_000):
        memory.remember(f"task_{number}", 3, identity=b)
    assert memory.resume("t1", identity=a) == 7
    assert memory.resume("t1", identity=b) == 0  # B never waited on t1
    assert memory.resume("task_999", identity=b) == 3
