"""Every tool's answer stays within its bounds whatever the data (issue 13, defect 16).

The worst data the sandbox accepts: 300-character ids (200 for those a wait is given), 10,000-character task
types, 3,400-character errors, 2,000-character bucket/batch/namespace/cluster/job ids, absurd numbers (a page
of 100 stays under the client's 4 MB cap).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from mixpeek_tasks_mcp.bounds import MAX_STRUCTURED_CHARS, MAX_TEXT_CHARS
from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import session, text_of

KEY = "sk_test_bounds_4e1d0c9b"
pytestmark = pytest.mark.anyio

TRIAGE_TEXT_BOUND = 8_000
TRIAGE_STRUCTURED_BOUND = 24_000


def worst_task(index: int, status: str, id_length: int = 300) -> dict[str, Any]:
    return {
        "task_id": (f"{status[:4]}-{index:04d}-" + "é" * id_length)[:id_length],
        "task_type": "T" * 10_000,
        "status": status,
        "error_message": (f"E{index} " + "boom ✕ " * 1_000)[:3_400],
        "additional_data": {
            **{key: key[0] * 2_000 for key in ("batch_id", "bucket_id", "namespace_id", "cluster_id", "job_id")},
            "object_count": 10**15,
            "total_tiers": 10**12,
            "current_tier": 10**12 - 1,
        },
    }


FAILED_IDS = [worst_task(i, "FAILED", 200)["task_id"] for i in range(50)]
ACTIVE_IDS = [worst_task(i, "PROCESSING", 200)["task_id"] for i in range(50)]


@pytest.fixture(scope="module")
def worst_sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(port=0, api_keys=[KEY], tasks=0, simulate=False)) as sandbox:
        sandbox.create_tasks([worst_task(i, "FAILED") for i in range(100)])
        sandbox.create_tasks([worst_task(i, "FAILED", 200) for i in range(50)])
        sandbox.create_tasks([worst_task(i, "PROCESSING", 200) for i in range(60)])
        yield sandbox


@pytest.fixture
def worst_settings(worst_sandbox: RunningSandbox) -> Settings:
    return Settings(api_key=SecretStr(KEY), api_base=worst_sandbox.base_url)


def sizes(result: Any) -> tuple[int, int]:
    assert not result.is_error, text_of(result)
    return len(text_of(result)), len(json.dumps(result.structured_content, ensure_ascii=False))


async def test_a_page_of_the_worst_tasks_is_bounded_and_says_what_it_left_out(worst_settings: Settings) -> None:
    async with session(worst_settings) as client:
        result = await client.call_tool("list_tasks", {"status": "FAILED", "limit": 100})
    text, structured = sizes(result)
    assert text <= MAX_TEXT_CHARS and structured <= MAX_STRUCTURED_CHARS
    page = result.structured_content["pagination"]
    shown = page["returned"]
    assert 1 <= shown < 100 and page["left_out"] == 100 - shown and page["has_more"]
    assert f"Showing {shown} of the 100 tasks this page returned" in text_of(result)
    assert result.structured_content["next_call"]["offset"] == shown
    assert all(len(row["task_type"]) <= 80 and len(row["task_id"]) <= 200 for row in result.structured_content["tasks"])


async def test_following_the_next_calls_reaches_every_task_once(worst_settings: Settings) -> None:
    seen: list[str] = []
    arguments: dict[str, Any] | None = {"status": "FAILED", "limit": 100}
    async with session(worst_settings) as client:
        while arguments is not None:
            result = await client.call_tool("list_tasks", arguments)
            text, structured = sizes(result)
            assert text <= MAX_TEXT_CHARS and structured <= MAX_STRUCTURED_CHARS
            seen += [row["task_id"] for row in result.structured_content["tasks"]]
            arguments = result.structured_content.get("next_call")
    assert len(seen) == len(set(seen)) == 150


async def test_a_cursor_page_that_does_not_fit_is_continued_by_a_smaller_page(worst_settings: Settings) -> None:
    async with session(worst_settings) as client:
        first = await client.call_tool("list_tasks", {"status": "FAILED", "limit": 5})
        cursor = first.structured_content["pagination"].get("next_cursor")
        if cursor is None:
            pytest.skip("the sandbox gave no cursor")
        result = await client.call_tool("list_tasks", {"status": "FAILED", "limit": 100, "cursor": cursor})
        text, structured = sizes(result)
        assert text <= MAX_TEXT_CHARS and structured <= MAX_STRUCTURED_CHARS
        shown = result.structured_content["pagination"]["returned"]
        assert result.structured_content["next_call"] == {"status": "FAILED", "limit": shown, "cursor": cursor}


async def test_the_header_echo_of_the_largest_filters_is_clipped(worst_settings: Settings) -> None:
    """Filters up to 8,000 characters are accepted; the header repeats at most 600 of them."""
    values = [f"{i:03d}" + "v" * 187 for i in range(38)]
    filters = {
        "OR": [
            {"field": "task_id", "operator": "nin", "value": values},
            {"field": "status", "operator": "ne", "value": "DRAFT"},
        ]
    }
    async with session(worst_settings) as client:
        result = await client.call_tool("list_tasks", {"filters": filters, "limit": 100})
    text, structured = sizes(result)
    assert text <= MAX_TEXT_CHARS and structured <= MAX_STRUCTURED_CHARS
    assert len(text_of(result).splitlines()[0]) < 1_000
    assert result.structured_content["next_call"]["filters"]["OR"][0]["value"] == values


@pytest.mark.parametrize(
    "arguments",
    [
        {"task_id": FAILED_IDS[0]},
        {"task_id": ACTIVE_IDS[0], "timeout_seconds": 1},
        {"task_ids": FAILED_IDS},
        {"task_ids": ACTIVE_IDS, "timeout_seconds": 1},
        {"task_ids": ACTIVE_IDS, "until": "any", "timeout_seconds": 1},
        {"status": "PROCESSING", "until": "none_active", "timeout_seconds": 1},
    ],
    ids=["one-failed", "one-running", "50-failed", "50-running", "any-running", "none-active"],
)
async def test_every_wait_answer_is_bounded(worst_settings: Settings, arguments: dict[str, Any]) -> None:
    async with session(worst_settings) as client:
        result = await client.call_tool("wait_for_task", arguments)
    text, structured = sizes(result)
    assert text <= MAX_TEXT_CHARS and structured <= MAX_STRUCTURED_CHARS
    content = result.structured_content
    if content.get("tasks") is not None:
        left_out = content.get("tasks_left_out") or 0
        assert len(content["tasks"]) + left_out == sum(content["counts"].values())
        if left_out:
            assert f"Lines of {left_out} more task(s) are left out" in text_of(result)
        if not content["finished"]:
            assert len(content["still_running"]) == len(content.get("next_call", {}).get("task_ids", [])) or (
                "status" in content["next_call"]
            )


async def test_triage_of_the_worst_tasks_stays_within_its_own_bounds(worst_settings: Settings) -> None:
    async with session(worst_settings) as client:
        result = await client.call_tool("triage_tasks", {})
    text, structured = sizes(result)
    assert text <= TRIAGE_TEXT_BOUND and structured <= TRIAGE_STRUCTURED_BOUND
    assert result.structured_content["scanned"] == 210
