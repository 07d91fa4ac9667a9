"""Triage's progress memory through a real Redis: a stall one replica's triage saw is judged on another's."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.sandbox import SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.shared import progress
from mixpeek_tasks_mcp.shared.link import RedisLink
from mixpeek_tasks_mcp.shared.progress import SharedProgress
from mixpeek_tasks_mcp.shared.setup import progress_memories
from mixpeek_tasks_mcp.tools import AppState

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio
KEY = "sk_progress_tests_41d7"


async def _replica(settings: Settings, start: float, redis_url: str | None) -> AppState:
    state = AppState(settings=settings, client=TasksClient(settings), clock=FakeClock(start=start))
    if redis_url is not None:
        link = RedisLink(redis_url, password=None, timeout=0.5, prefix="progress-test:")
        assert await link.ping()
        state.progress = progress_memories(SharedProgress(link))
    return state


async def _stuck(state: AppState) -> list[dict[str, Any]]:
    async with Client(build_server(state.settings, state=state)) as client:
        result = await client.call_tool("triage_tasks", {})
    assert result.structured_content is not None
    rows: list[dict[str, Any]] = result.structured_content["stuck"]
    return rows


@pytest.mark.parametrize("shared", [True, False])
async def test_a_stall_seen_by_one_replica_is_judged_by_another(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    wall = [1_800_000_000.0]
    monkeypatch.setattr(progress.time, "time", lambda: wall[0])  # the replicas' wall clock (monotonic ones differ)
    with running_sandbox(SandboxConfig(port=0, api_keys=[KEY], tasks=0, simulate=False, timestamps=False)) as sb:
        data = {"total_tiers": 3, "current_tier": 0}
        stalled = sb.create_task(status="IN_PROGRESS", additional_data=data)["task_id"]
        moving = sb.create_task(status="IN_PROGRESS", additional_data=data)["task_id"]
        settings = Settings(api_key=SecretStr(KEY), api_base=sb.base_url)
        url = redis_server.url if shared else None
        first, second = await _replica(settings, 1_000.0, url), await _replica(settings, 90_000.0, url)
        assert await _stuck(first) == []
        wall[0] += 11 * 60
        sb.transition(moving, "IN_PROGRESS", additional_data={"current_tier": 1})
        seen_by_second = await _stuck(second)
        for state in (first, second):
            await state.client.aclose()
    if shared:
        assert [row["task_id"] for row in seen_by_second] == [stalled]
        assert seen_by_second[0]["reason"].endswith("as this server saw it 11 min ago")
    else:
        assert seen_by_second == []  # alone, the second replica has never seen them: it cannot tell
