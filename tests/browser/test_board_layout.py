"""The board's layout in the real Chromium: nothing overflows from 340 to 1,280 px whatever the statuses, a task id
is one line with the full id a click away, finish times read right, and the page alone asks for a host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mixpeek_tasks_mcp.enums import TaskStatus
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.ui import board_html

from .harness import Board, as_json, bare_page, board

pytestmark = pytest.mark.anyio

WIDTHS = (340, 760, 1280)
THEMES = ("light", "dark")
BATCH = "btch_layout_every_status_0a1b2c3d4e"
LONG_ERROR = (
    "Object obj_9f73b2 at s3://a-very-long-bucket-name-for-layout-checks/with/a/deep/path/"
    + "x" * 160
    + ".mp4 could not be read: AccessDenied"
)

# Every element whose box reaches past the frame's right edge, or whose content is wider than its box: what the
# person reading along would see cut off, spilling over, or have to scroll sideways for.
OVERFLOW_JS = """() => {
  const limit = document.documentElement.clientWidth + 0.5;
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push("document scrolls sideways");
  for (const el of document.querySelectorAll("body *")) {
    if (el.classList.contains("sr-only")) continue;
    const box = el.getBoundingClientRect();
    if (box.width && box.right > limit) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${box.right}`);
    // Content wider than its box: a scroll box that scrolls sideways, or text spilling out of a visible one.
    // Boxes that clip on purpose (a progress bar's sliding fill) are left out.
    const style = getComputedStyle(el);
    const clips = ["hidden", "clip"].includes(style.overflowX);
    if (!clips && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} content ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def every_status(sandbox: RunningSandbox) -> list[str]:
    """A task in each of the 16 statuses in one batch, with tiers, large counts, long ids and a long error."""
    ids = []
    for status in TaskStatus:
        failed = status.value in ("FAILED", "COMPLETED_WITH_ERRORS", "INTERRUPTED")
        data = {"batch_id": BATCH, "bucket_id": "bkt_catalog_images_archive_2026", "object_count": 10_000}
        data |= {"total_tiers": 4, "current_tier": 2}
        task = sandbox.create_task(
            task_id=f"layout_{status.value.lower()}_5f0c2a9e-61b4-4d1b-9a7e-3c2f1e0d9b8a",
            task_type="api_collections_documents_bulk_update",
            status=status.value,
            additional_data=data,
            error=LONG_ERROR if failed else None,
        )
        ids.append(str(task["task_id"]))
    return ids


async def frame_overflow(harness: Board) -> list[str]:
    """Overflow inside the app's frame (the board), measured by the browser's own layout."""
    await harness.page.wait_for_timeout(100)
    result: list[str] = await harness.page.frames[1].evaluate(OVERFLOW_JS)
    return result


async def stop_following(harness: Board) -> None:
    stop = harness.frame.get_by_role("button", name="Stop following")
    if await stop.count():
        await stop.click()


@pytest.mark.parametrize("theme", THEMES)
async def test_nothing_overflows_from_340_to_1280_px_whatever_the_statuses(
    sandbox: RunningSandbox, host_js: str, every_status: list[str], theme: str
) -> None:
    selection = {"filters": {"field": "additional_data.batch_id", "operator": "eq", "value": BATCH}}
    async with board(sandbox, host_js, tool="list_tasks", theme=theme, width=WIDTHS[0]) as harness:
        listed = await harness.client.call_tool("list_tasks", {**selection, "limit": 20})
        triaged = await harness.client.call_tool("triage_tasks", selection)
        waited = await harness.client.call_tool(
            "wait_for_task", {"task_ids": every_status, "until": "all", "timeout_seconds": 1}
        )
        statuses = {task["status"] for task in listed.structured_content["tasks"]}
        assert statuses == {status.value for status in TaskStatus}
        views = {"list": (listed, "table.tasks"), "triage": (triaged, "li.group"), "wait": (waited, "table.wait")}
        problems: dict[str, list[str]] = {}
        for width in WIDTHS:
            await harness.resize(width)
            for name, (result, ready) in views.items():
                await harness.page.evaluate("r => window.bridge.sendToolResult(r)", as_json(result))
                await harness.frame.locator(ready).first.wait_for()
                found = await frame_overflow(harness)
                if found:
                    problems[f"{name} at {width} px"] = found[:5]
                if name == "wait":
                    await stop_following(harness)
                ids = harness.frame.locator("button.tid")
                for index in range(await ids.count()):
                    lines = await ids.nth(index).evaluate("b => b.getClientRects().length")
                    height = await ids.nth(index).evaluate("b => b.getBoundingClientRect().height")
                    assert lines == 1 and height < 24, (name, width, index, height)
        assert problems == {}, problems
        await harness.page.wait_for_timeout(3_200)  # the follow-up call in flight when following stopped


async def test_a_task_id_is_one_line_with_the_full_id_one_click_away(
    sandbox: RunningSandbox, host_js: str, every_status: list[str]
) -> None:
    full = every_status[0]
    async with board(sandbox, host_js, tool="list_tasks", width=340) as harness:
        await harness.call("list_tasks", {"filters": {"field": "task_id", "operator": "eq", "value": full}})
        button = harness.frame.locator(f'tr[data-task-id="{full}"] button.tid')
        await button.wait_for()
        shown = await button.inner_text()
        assert shown != full and len(shown) <= 14 and shown.startswith(full[:8]) and shown.endswith(full[-4:])
        assert await button.get_attribute("title") == full
        await button.click()
        field = harness.frame.get_by_role("textbox", name="Full task id")
        await field.wait_for()
        assert await field.input_value() == full
        selected = await field.evaluate("f => f.value.slice(f.selectionStart, f.selectionEnd)")
        assert selected == full, "the full id is selected, ready to copy"
        note = await harness.frame.locator(".copynote").inner_text()
        assert note in ("copied", "selected: press Ctrl+C (⌘C) to copy")
        await harness.page.wait_for_timeout(300)  # the host resizes the frame to the taller board
        assert await frame_overflow(harness) == []
        await button.click()
        assert await field.count() == 0, "a second click closes it"


def _with_finish_times(structured: dict[str, Any], finished_at: dict[str, str]) -> dict[str, Any]:
    """The wait answer with per-task finished_at and seen_after_seconds, as the server gives them (issue 17, part 4).
    Where the server already sends them they are kept; otherwise they are filled in from the sandbox's timestamps,
    exactly as the server reads them, so the board is checked against the same shape either way."""
    lines = []
    for line in structured["tasks"]:
        line = dict(line)
        line.setdefault("finished_at", finished_at.get(line["task_id"]))
        line.setdefault("seen_after_seconds", line.get("finished_after_seconds"))
        lines.append(line)
    return {**structured, "tasks": lines}


async def test_finish_times_tell_long_finished_tasks_from_ones_finished_during_the_wait(
    sandbox: RunningSandbox, host_js: str
) -> None:
    long_ago = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    old = sandbox.create_task(status="COMPLETED", created_at=long_ago, updated_at=long_ago)["task_id"]
    bare = sandbox.create_task(status="FAILED", error="boom", created_at=long_ago, updated_at=long_ago)["task_id"]
    async with board(sandbox, host_js, tool="wait_for_task") as harness:
        # created once the browser is up, so that it finishes while the wait runs
        script = [{"after_seconds": 1.5, "status": "COMPLETED"}]
        fresh = sandbox.create_task(status="PENDING", script=script, additional_data={"object_count": 3})["task_id"]
        arguments = {"task_ids": [old, bare, fresh], "until": "all", "timeout_seconds": 20}
        result = await harness.client.call_tool("wait_for_task", arguments)
        structured = result.structured_content
        assert structured["outcome"] == "all_finished"
        times = {old: long_ago, fresh: sandbox.get_task(fresh)["updated_at"]}
        answer = as_json(result) | {"structuredContent": _with_finish_times(structured, times)}
        answer["structuredContent"]["tasks"] = [
            {**line, "finished_at": None} if line["task_id"] == bare else line
            for line in answer["structuredContent"]["tasks"]
        ]
        await harness.page.evaluate("r => window.bridge.sendToolResult(r)", answer)
        await harness.frame.get_by_role("heading", name="Wait: 3 of 3 finished").wait_for()

        async def finished(task_id: str) -> str:
            text: str = await harness.frame.locator(f'tr[data-task-id="{task_id}"] .finished').inner_text()
            return text.strip()

        assert await finished(old) == "· finished 10 min ago"
        assert (await finished(fresh)).startswith("· finished during this wait (seen within "), await finished(fresh)
        assert (await finished(bare)).endswith("s into this wait (the API gives no finish time)")
    # An answer without the two fields (a server from before them) still reads right: only what this wait saw.
    plain = as_json(result)
    for line in plain["structuredContent"]["tasks"]:
        line.pop("finished_at", None)
        line.pop("seen_after_seconds", None)
    async with board(sandbox, host_js, tool="wait_for_task") as harness:
        await harness.page.evaluate("r => window.bridge.sendToolResult(r)", plain)
        await harness.frame.get_by_role("heading", name="Wait: 3 of 3 finished").wait_for()
        for text in await harness.frame.locator("td.outcome").all_inner_texts():
            assert " after " not in text, "no bare 'after N s': it reads as the task's run time"
            assert "finished during this wait" not in text and "min ago" not in text, text


@pytest.mark.parametrize("theme", THEMES)
async def test_opened_outside_a_host_the_page_says_it_needs_one_and_throws_nothing(
    browser_ready: None, theme: str
) -> None:
    async with bare_page(theme) as (page, errors):
        await page.set_content(board_html())
        message = page.locator('[data-role="needs-host"]')
        await message.wait_for()
        assert "needs an MCP Apps host" in await message.inner_text()
        await page.wait_for_timeout(500)
        assert errors == []
        overflowing: list[str] = await page.evaluate(OVERFLOW_JS)
        assert overflowing == []
