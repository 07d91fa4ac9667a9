"""The task board in a real headless Chromium, hosted through the ext-apps AppBridge, fed real results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .harness import Board, board, offsite

pytestmark = pytest.mark.anyio

THEMES = ["light", "dark"]
EN_DASH = "\u2013"  # the board writes ranges as 1\u20138
HOSTILE = '<script>window.parent.pwned=1</script><img src=x onerror="alert(1)"> quota exceeded'


async def row_ids(harness: Board) -> list[str]:
    rows = harness.frame.locator("tbody tr[data-task-id]")
    return [str(await rows.nth(index).get_attribute("data-task-id")) for index in range(await rows.count())]


@pytest.mark.parametrize("theme", THEMES)
async def test_list_shows_rows_chips_bars_and_pages_through_the_host(
    sandbox: RunningSandbox, host_js: str, theme: str, tmp_path: Path
) -> None:
    async with board(sandbox, host_js, tool="list_tasks", theme=theme) as harness:
        result = await harness.call("list_tasks", {"task_type": "api_buckets_batches_process", "limit": 8})
        structured = result.structured_content
        frame = harness.frame
        await frame.locator("table.tasks").wait_for()
        assert await row_ids(harness) == [task["task_id"] for task in structured["tasks"]]
        assert await frame.locator("caption").first.inner_text() == f"Mixpeek tasks, tasks 1{EN_DASH}8 of " + str(
            structured["pagination"]["total"]
        )
        for task in structured["tasks"]:
            row = frame.locator(f'tr[data-task-id="{task["task_id"]}"]')
            assert await row.locator(".chip").inner_text() == task["status"]
            if task.get("tier"):
                assert await row.get_by_role("progressbar").get_attribute("aria-valuetext") == f"tier {task['tier']}"
        chips = await frame.locator('p[aria-label="Status counts on this page"] .chip').all_inner_texts()
        assert sorted(chips) == sorted(f"{status} {n}" for status, n in structured["status_counts"].items())
        await harness.screenshot(f"list-{theme}", tmp_path)

        await frame.get_by_role("button", name="Next page →").click()
        await frame.locator("caption", has_text=f"tasks 9{EN_DASH}16").wait_for()
        assert harness.app_calls == [{"name": "list_tasks", "arguments": structured["next_call"]}]
        second = (await harness.client.call_tool("list_tasks", structured["next_call"])).structured_content
        assert await row_ids(harness) == [task["task_id"] for task in second["tasks"]]
        await frame.get_by_role("button", name="← Back").click()
        await frame.locator("caption", has_text=f"tasks 1{EN_DASH}8").wait_for()
        assert offsite(harness) == [] and harness.dialogs == []


async def test_error_texts_from_the_api_render_as_text(sandbox: RunningSandbox, host_js: str) -> None:
    task = sandbox.create_task(task_type="thumbnail", status="FAILED", error=HOSTILE)
    arguments = {"filters": {"field": "task_id", "operator": "eq", "value": task["task_id"]}}
    async with board(sandbox, host_js, tool="list_tasks") as harness:
        await harness.call("list_tasks", arguments)
        error = harness.frame.locator(".errtext").first
        await error.wait_for()
        assert await error.inner_text() == HOSTILE
        assert await harness.frame.locator("img").count() == 0
        assert await harness.frame.locator("script").count() == 1  # the app's own
        await harness.page.wait_for_timeout(300)
        assert await harness.page.evaluate("window.pwned") is None
        assert harness.dialogs == [] and offsite(harness) == []
        # The recorder sees what would leave the page: a request from the host page is caught and blocked.
        harness.expected_errors.append("net::ERR_FAILED")  # the blocked probe below, made on purpose
        await harness.page.evaluate("fetch('https://example.com/probe').catch(() => null)")
        await harness.page.wait_for_timeout(200)
        assert offsite(harness) == ["https://example.com/probe"]


@pytest.mark.parametrize("theme", THEMES)
async def test_triage_shows_a_bar_per_group_and_lists_a_groups_tasks(
    sandbox: RunningSandbox, host_js: str, theme: str, tmp_path: Path
) -> None:
    async with board(sandbox, host_js, tool="triage_tasks", theme=theme) as harness:
        result = await harness.call("triage_tasks", {"max_tasks": 500})
        groups = result.structured_content["groups"]
        assert groups
        frame = harness.frame
        items = frame.locator("li.group")
        await items.first.wait_for()
        assert await items.count() == len(groups)
        for index, group in enumerate(groups):
            item = items.nth(index)
            assert await item.locator("h2").inner_text() == group["signature"]
            share = round(group["share"] * 1000) / 10
            share_text = f"{share:g}"
            valuetext = await item.get_by_role("progressbar").get_attribute("aria-valuetext")
            assert valuetext == f"{group['count']} tasks · {share_text}%"
            for bucket in group.get("buckets", []):
                assert f"bucket {bucket['id']} ({bucket['tasks']})" in await item.inner_text()
        widths = [
            int(await items.nth(i).get_by_role("progressbar").get_attribute("aria-valuenow") or 0)
            for i in range(len(groups))
        ]
        assert widths[0] == 100 and widths == sorted(widths, reverse=True)
        await harness.screenshot(f"triage-{theme}", tmp_path)

        await items.first.get_by_role("button", name="Show these tasks").click()
        await frame.locator("table.tasks").wait_for()
        assert harness.app_calls == [{"name": "list_tasks", "arguments": groups[0]["list_call"]}]
        assert len(await row_ids(harness)) > 0
        assert offsite(harness) == []


def scripted(sandbox: RunningSandbox, script: list[dict[str, Any]], tiers: int) -> str:
    task = sandbox.create_task(
        task_type="api_buckets_batches_process",
        status="PENDING",
        additional_data={"batch_id": "btch_board", "bucket_id": "bkt_board", "object_count": 120, "total_tiers": tiers},
        script=script,
    )
    return str(task["task_id"])


@pytest.mark.parametrize("theme", THEMES)
async def test_a_running_wait_moves_its_bars_with_follow_up_calls(
    sandbox: RunningSandbox, host_js: str, theme: str, tmp_path: Path
) -> None:
    async with board(sandbox, host_js, tool="wait_for_task", theme=theme) as harness:
        # Tiers 1-4 start 2.5 s apart; the app's 3-second follow-up calls see several of them.
        steps = [
            {"after_seconds": 0.2 + 2.5 * n, "status": "IN_PROGRESS", "additional_data": {"current_tier": n}}
            for n in range(4)
        ]
        slow = scripted(sandbox, [*steps, {"after_seconds": 10.2, "status": "COMPLETED"}], tiers=4)
        failing = scripted(
            sandbox,
            [
                {"after_seconds": 0.2, "status": "IN_PROGRESS", "additional_data": {"current_tier": 0}},
                {"after_seconds": 2.0, "status": "FAILED", "error": "Inference service unavailable (503)"},
            ],
            tiers=2,
        )
        arguments = {"task_ids": [slow, failing], "until": "all", "timeout_seconds": 30}
        bar = harness.frame.locator(f'tr[data-task-id="{slow}"]').get_by_role("progressbar")
        seen: list[int] = []
        result: Any = None

        async def model_waits() -> None:
            nonlocal result
            result = await harness.client.call_tool("wait_for_task", arguments)

        await harness.tool_input(arguments)
        async with anyio.create_task_group() as group:
            group.start_soon(model_waits)
            with anyio.fail_after(25):
                while result is None:
                    value = await bar.get_attribute("aria-valuenow") if await bar.count() else None
                    if value is not None and (not seen or seen[-1] != int(value)):
                        seen.append(int(value))
                        if int(value) == 50:
                            await harness.screenshot(f"wait-{theme}", tmp_path)
                    await anyio.sleep(0.1)
        await harness.tool_result(result)
        assert result.structured_content["outcome"] == "all_finished"
        await harness.frame.get_by_role("heading", name="Wait: 2 of 2 finished").wait_for()
        # The bar moved through the tiers while the model's own call was still running, then filled.
        assert len([value for value in seen if value < 100]) >= 2 and seen == sorted(seen), seen
        assert await bar.get_attribute("aria-valuenow") == "100"
        failed_row = harness.frame.locator(f'tr[data-task-id="{failing}"]')
        assert "Inference service unavailable (503)" in await failed_row.inner_text()
        assert await failed_row.locator(".chip").inner_text() == "FAILED"
        follow_ups = [call for call in harness.app_calls if call["name"] == "wait_for_task"]
        assert follow_ups and all(call["arguments"]["timeout_seconds"] <= 3 for call in follow_ups)
        assert offsite(harness) == []


async def test_narrow_and_keyboard(sandbox: RunningSandbox, host_js: str) -> None:
    async with board(sandbox, host_js, tool="list_tasks", width=340) as harness:
        result = await harness.call("list_tasks", {"status": "FAILED", "limit": 5})
        await harness.frame.locator("table.tasks").wait_for()
        overflow = await harness.frame.locator("body").evaluate("b => b.scrollWidth - b.clientWidth")
        assert overflow <= 0
        assert not await harness.frame.get_by_role("columnheader", name="Type").is_visible()
        button = harness.frame.get_by_role("button", name="Next page →")
        await button.focus()
        await harness.page.keyboard.press("Enter")
        await harness.frame.locator("caption", has_text=f"tasks 6{EN_DASH}10").wait_for()
        assert harness.app_calls == [{"name": "list_tasks", "arguments": result.structured_content["next_call"]}]
