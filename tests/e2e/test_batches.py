"""Batches as users name them (``batch_id``), and waits that tell the truth: MCP sessions against the sandbox.

A mistyped batch, a finished batch, a running batch, ``until: "any"`` followed to the end through the watch
prompt, ``finished_at`` against the sandbox's own timestamps, and an over-estimated queue seen on the
backoff's schedule.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from mixpeek_tasks_mcp.coerce import as_time
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio
BATCH_TYPE = "api_buckets_batches_process"
CALL = re.compile(r"call (wait_for_task) (\{.*\})$", re.MULTILINE)


def new_batch() -> str:
    return f"btch_{uuid.uuid4().hex[:10]}"


def minutes_ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_second(text: str) -> str:
    moment = as_time(text)
    assert moment is not None, text
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def finished_batch(sandbox: RunningSandbox, batch: str) -> list[dict[str, Any]]:
    """Three finished tasks of one batch, with creation and finish times in the past."""
    data = {"batch_id": batch, "bucket_id": "bkt_e2e", "total_tiers": 2, "current_tier": 1}
    return [
        sandbox.create_task(
            task_type=BATCH_TYPE,
            status="COMPLETED",
            additional_data={**data, "object_count": 100},
            created_at=minutes_ago(40),
            updated_at=minutes_ago(30),
        ),
        sandbox.create_task(
            task_type=BATCH_TYPE,
            status="COMPLETED_WITH_ERRORS",
            additional_data={**data, "object_count": 400},
            error="12 of 400 documents failed feature extraction with 'clip' (timeout after 300s)",
            created_at=minutes_ago(35),
            updated_at=minutes_ago(12),
        ),
        sandbox.create_task(
            task_type=BATCH_TYPE,
            status="FAILED",
            additional_data={**data, "object_count": 50},
            error="Ray job ray_job_x failed: OOMKilled",
            created_at=minutes_ago(30),
            updated_at=minutes_ago(20),
        ),
    ]


async def test_a_mistyped_batch_says_so_plainly_on_every_tool(sandbox: RunningSandbox, settings: Settings) -> None:
    async with session(settings) as client:
        waited = await client.call_tool("wait_for_task", {"batch_id": " btch_typo0000 "})
        listed = await client.call_tool("list_tasks", {"batch_id": "btch_typo0000"})
        triaged = await client.call_tool("triage_tasks", {"batch_id": "btch_typo0000"})
    assert not waited.is_error and not listed.is_error and not triaged.is_error
    assert text_of(waited).startswith("No task matches batch btch_typo0000; check the id"), text_of(waited)
    structured = waited.structured_content
    assert structured is not None
    assert (structured["matched"], structured["outcome"], structured["tasks"]) == (0, "no_match", [])
    assert "next_call" not in structured and "summary" not in structured
    assert text_of(listed).startswith("No task matches batch btch_typo0000; check the id")
    assert triaged.structured_content is not None and triaged.structured_content["scanned"] == 0
    assert "No task matches batch btch_typo0000; check the id." in text_of(triaged).splitlines(), text_of(triaged)
    condition = {"field": "additional_data.batch_id", "operator": "eq", "value": "btch_typo0000"}
    bodies = [entry["body"] for entry in api_requests(sandbox, "/v1/tasks/list")]
    assert bodies and all(condition in body["filters"]["AND"] for body in bodies), bodies


async def test_a_finished_batch_answers_at_once_with_its_outcome(sandbox: RunningSandbox, settings: Settings) -> None:
    batch = new_batch()
    tasks = finished_batch(sandbox, batch)
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"batch_id": batch})
    text, structured = text_of(result), result.structured_content
    assert structured is not None and not result.is_error, text
    assert structured["outcome"] == "none_active" and structured["finished"] is True
    assert structured["matched"] == 3 and structured["polls"] == 0, "nothing to poll: one survey answers"
    assert len(api_requests(sandbox)) == 1
    assert structured["counts"] == {"success": 1, "partial": 1, "failure": 1} or sorted(structured["counts"]) == [
        "failure",
        "partial",
        "success",
    ]
    summary = structured["summary"]
    assert (summary["finished"], summary["objects"], summary["failed_documents"]) == (3, 550, 12)
    stored = {task["task_id"]: sandbox.get_task(task["task_id"]) for task in tasks}
    assert summary["first_created_at"] == min(to_second(task["created_at"]) for task in stored.values())
    assert summary["last_finished_at"] == max(to_second(task["updated_at"]) for task in stored.values())
    for line in structured["tasks"]:
        assert line["finished_at"] == to_second(stored[line["task_id"]]["updated_at"])
        assert line["seen_after_seconds"] is not None
    assert text.startswith(f"Batch {batch}: all 3 tasks finished"), text
    assert "550 objects · 12 documents failed · first created " in text
    assert "finished 30 min ago" in text and "finished 12 min ago" in text
    assert "during this wait" not in text


async def test_a_running_batch_shows_its_progress_then_its_outcome(sandbox: RunningSandbox, settings: Settings) -> None:
    batch = new_batch()
    done = sandbox.create_task(
        task_type=BATCH_TYPE, status="COMPLETED", additional_data={"batch_id": batch, "object_count": 10}
    )
    failed = sandbox.create_task(
        task_type=BATCH_TYPE, status="FAILED", error="boom", additional_data={"batch_id": batch}
    )
    running = sandbox.create_task(
        task_type=BATCH_TYPE,
        status="IN_PROGRESS",
        additional_data={"batch_id": batch, "total_tiers": 3, "current_tier": 1, "object_count": 20},
    )
    async with session(settings) as client:
        first = await client.call_tool("wait_for_task", {"batch_id": batch, "timeout_seconds": 1})
        structured = first.structured_content
        assert structured is not None, text_of(first)
        assert structured["outcome"] == "timed_out" and structured["still_running"] == [running["task_id"]]
        assert structured["summary"]["finished"] == 2 and structured["matched"] == 3
        assert structured["summary"]["tiers"] == [{"task_id": running["task_id"], "tier": "2/3"}]
        assert structured["next_call"] == {"batch_id": batch, "until": "none_active", "timeout_seconds": 1}
        assert f"Batch {batch}: 2 of 3 tasks finished" in text_of(first)
        assert "tier 2/3" in text_of(first)
        [(_, call_text)] = CALL.findall(text_of(first))
        assert json.loads(call_text) == structured["next_call"]
        sandbox.transition(running["task_id"], "COMPLETED")
        second = await client.call_tool("wait_for_task", json.loads(call_text))
    final = second.structured_content
    assert final is not None, text_of(second)
    assert final["outcome"] == "none_active" and final["summary"]["finished"] == 3
    assert final["summary"]["objects"] == 30 and "next_call" not in final
    assert {line["task_id"] for line in final["tasks"]} == {done["task_id"], failed["task_id"], running["task_id"]}


async def test_batch_id_combines_with_the_other_selection_arguments(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    batch = new_batch()
    tasks = finished_batch(sandbox, batch)
    async with session(settings) as client:
        listed = await client.call_tool("list_tasks", {"batch_id": batch, "status": "failed"})
        filtered = await client.call_tool(
            "list_tasks",
            {"batch_id": batch, "filters": {"OR": [{"field": "status", "value": "COMPLETED"}]}},
        )
        triaged = await client.call_tool("triage_tasks", {"batch_id": batch})
    assert listed.structured_content is not None and filtered.structured_content is not None
    assert [row["task_id"] for row in listed.structured_content["tasks"]] == [tasks[2]["task_id"]]
    assert [row["task_id"] for row in filtered.structured_content["tasks"]] == [tasks[0]["task_id"]]
    report = triaged.structured_content
    assert report is not None and report["scanned"] == 3 and report["selection"] == {"batch_id": batch}
    for group in report["groups"]:
        if group.get("list_call"):
            assert group["list_call"]["batch_id"] == batch


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("wait_for_task", {"batch_id": "btch x"}, "batch_id: 'btch x' is not a batch id"),
        ("list_tasks", {"batch_id": ["btch_a", "btch_b"]}, "batch_id: takes one batch id as a string"),
        ("triage_tasks", {"batch_id": "x" * 201}, "batch_id: is 201 characters long"),
        ("wait_for_task", {"batch_id": "btch_a", "task_ids": ["t1"]}, "give one of task_id, task_ids or a selection"),
        ("wait_for_task", {"batch_id": "btch_a", "until": "any"}, "Accepted: none_active"),
    ],
)
async def test_bad_batch_arguments_are_refused_and_nothing_is_sent(
    sandbox: RunningSandbox, settings: Settings, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async with session(settings) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error and says in text_of(result), text_of(result)
    assert api_requests(sandbox) == []


def scripted(sandbox: RunningSandbox, finish_after: float, final: str = "COMPLETED") -> str:
    change: dict[str, Any] = {"after_seconds": finish_after, "status": final}
    if final == "FAILED":
        change["error"] = "Extractor crashed on obj_1"
    task = sandbox.create_task(
        task_type=BATCH_TYPE,
        status="IN_PROGRESS",
        additional_data={"batch_id": "btch_watch"},
        script=[change],
    )
    return str(task["task_id"])


async def test_the_watch_prompt_followed_literally_sees_every_task_finish(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    ids = [scripted(sandbox, 0.5), scripted(sandbox, 1.5, "FAILED"), scripted(sandbox, 3.0)]
    reported: dict[str, str] = {}
    async with session(settings) as client:
        prompt = await client.get_prompt("watch", {"task_ids": ", ".join(ids)})
        text = "\n".join(getattr(message.content, "text", "") for message in prompt.messages)
        start = re.search(r"Call (wait_for_task) (\{.*?\})\. ", text)
        assert start is not None, text
        arguments: dict[str, Any] | None = json.loads(start.group(2))
        for _ in range(len(ids) + 2):  # every answer reports at least one finish, or the loop is broken
            if arguments is None:
                break
            result = await client.call_tool("wait_for_task", arguments)
            answer, structured = text_of(result), result.structured_content
            assert structured is not None and not result.is_error, answer
            for line in structured["tasks"]:
                if line["outcome"] != "running":
                    assert line["task_id"] not in reported, "each task is reported finished once"
                    reported[line["task_id"]] = line["outcome"]
                    assert line["seen_after_seconds"] is not None and line["finished_at"] is not None
            calls = CALL.findall(answer)  # "call wait_for_task again with the next_call its answer gives"
            assert [json.loads(call) for _, call in calls] == (
                [structured["next_call"]] if "next_call" in structured else []
            )
            arguments = json.loads(calls[0][1]) if calls else None
            if arguments is not None:
                assert arguments["task_ids"] == structured["still_running"] and arguments["until"] == "any"
    assert arguments is None, "the loop ended because nothing was left running"
    assert reported == {ids[0]: "success", ids[1]: "failure", ids[2]: "success"}


async def test_the_watch_prompt_on_a_batch_waits_until_none_is_active(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    batch = new_batch()
    for after in (0.5, 1.0):
        sandbox.create_task(
            task_type=BATCH_TYPE,
            status="IN_PROGRESS",
            additional_data={"batch_id": batch},
            script=[{"after_seconds": after, "status": "COMPLETED"}],
        )
    async with session(settings) as client:
        prompt = await client.get_prompt("watch", {"batch_id": batch})
        text = "\n".join(getattr(message.content, "text", "") for message in prompt.messages)
        start = re.search(r"Call (wait_for_task) (\{.*?\})\. ", text)
        assert start is not None and json.loads(start.group(2)) == {"batch_id": batch, "until": "none_active"}, text
        result = await client.call_tool("wait_for_task", {**json.loads(start.group(2)), "timeout_seconds": 20})
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "none_active" and structured["counts"] == {"success": 2}
    assert "finished during this wait (seen within " in text_of(result)
    for line in structured["tasks"]:
        assert to_second(sandbox.get_task(line["task_id"])["updated_at"]) == line["finished_at"]


async def test_finished_at_comes_from_the_api_and_seen_after_from_the_call(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    earlier = sandbox.create_task(
        task_type="thumbnail", status="COMPLETED", created_at=minutes_ago(15), updated_at=minutes_ago(10)
    )
    now = sandbox.create_task(
        task_type="thumbnail",
        status="IN_PROGRESS",
        script=[{"after_seconds": 1.0, "status": "FAILED", "error": "boom"}],
    )
    async with session(settings) as client:
        before = await client.call_tool("wait_for_task", {"task_id": earlier["task_id"]})
        during = await client.call_tool("wait_for_task", {"task_id": now["task_id"], "timeout_seconds": 20})
    old, new = before.structured_content, during.structured_content
    assert old is not None and new is not None
    assert old["finished_at"] == to_second(sandbox.get_task(earlier["task_id"])["updated_at"])
    assert old["seen_after_seconds"] is not None and "finished successfully, finished 10 min ago" in text_of(before)
    assert new["outcome"] == "failure"
    assert new["finished_at"] == to_second(sandbox.get_task(now["task_id"])["updated_at"])
    assert "finished during this wait (seen within " in text_of(during), text_of(during)


async def test_an_over_estimated_queue_is_seen_on_the_backoffs_schedule(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    """A queue estimate of 7 minutes on a task that starts and finishes in seconds: before, the estimate pushed
    the second poll to the end of the call; now the backoff's second poll comes first, so the change is seen."""
    task = sandbox.create_task(task_type=BATCH_TYPE, status="PENDING", queue_position=3, estimated_wait_minutes=7)
    path = f"/v1/tasks/{task['task_id']}"
    results: list[Any] = []
    async with session(settings) as client:

        async def wait() -> None:
            results.append(await client.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 20}))

        async with anyio.create_task_group() as group:
            group.start_soon(wait)
            for _ in range(1200):  # the first poll, then the backoff's second one (not the deadline's)
                if len(api_requests(sandbox, path)) >= 2 or results:
                    break
                await anyio.sleep(0.05)
            sandbox.transition(task["task_id"], "COMPLETED", queue_position=None, estimated_wait_minutes=None)
    [result] = results
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "success", "the change after the second poll was seen before the deadline"


async def test_a_batch_larger_than_a_page_follows_its_oldest_active_tasks_and_says_what_its_figures_cover(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    batch = new_batch()
    data = {"batch_id": batch, "object_count": 2}
    old = sandbox.create_tasks(
        [
            {"task_type": BATCH_TYPE, "status": "IN_PROGRESS", "additional_data": data, "created_at": minutes_ago(60)}
            for _ in range(5)
        ]
    )
    sandbox.create_tasks(
        [
            {"task_type": BATCH_TYPE, "status": "COMPLETED", "additional_data": data, "created_at": minutes_ago(30)}
            for _ in range(115)
        ]
    )
    async with session(settings) as client:
        result = await client.call_tool("wait_for_task", {"batch_id": batch, "timeout_seconds": 0})
    structured = result.structured_content
    assert structured is not None, text_of(result)
    assert structured["outcome"] == "timed_out" and structured["matched"] == 120
    assert sorted(structured["still_running"]) == sorted(task["task_id"] for task in old)
    assert structured["summary"]["read"] == 105 and structured["summary"]["finished"] == 100
    assert len(structured["tasks"]) + structured["tasks_left_out"] == 105
    assert "figures from 105 of the 120 tasks (the newest and the active ones)" in text_of(result)
