"""cancel_tasks and retry_batch end to end: off unless the operator turns writes on; confirmed by an elicitation
form (through the SDK client's callback, on both protocol eras) or a one-use token; what Mixpeek said reported;
then the wait that follows, until the tasks really moved in the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client, types

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.tools import AppState

from .batches_support import batch_sandbox, batch_settings, failing_batch, running_batch, writes
from .conftest import session, text_of

pytestmark = pytest.mark.anyio
__all__ = ["batch_sandbox"]
WRITE_TOOLS = {"cancel_tasks", "retry_batch"}


def tier_task(sandbox: RunningSandbox, view: dict[str, Any], tier: int) -> str:
    task_id = view["tier_tasks"][tier]["task_id"]
    assert isinstance(task_id, str)
    return task_id


async def confirm_by_token(client: Client, tool: str, arguments: dict[str, Any]) -> Any:
    """What an agent without elicitation does: get the preview and token, then call again with it."""
    preview = await client.call_tool(tool, arguments)
    assert not preview.is_error, text_of(preview)
    assert preview.structured_content["outcome"] == "needs_confirmation", text_of(preview)
    token = preview.structured_content["confirmation_token"]
    return await client.call_tool(tool, {**arguments, "confirmation_token": token})


async def test_with_writes_off_the_write_tools_are_not_there(batch_sandbox: RunningSandbox) -> None:
    running_batch(batch_sandbox, "btch_off01")
    async with session(batch_settings(batch_sandbox)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        called = await client.call_tool("cancel_tasks", {"batch_id": "btch_off01"})
    assert "inspect_batch" in names and not names & WRITE_TOOLS
    assert "retry" not in prompts
    assert called.is_error and "Unknown tool" in text_of(called)
    assert writes(batch_sandbox) == []


async def test_with_writes_on_they_are_listed_and_annotated_destructive(batch_sandbox: RunningSandbox) -> None:
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
    assert set(tools) >= WRITE_TOOLS and "retry" in prompts
    cancel, retry = tools["cancel_tasks"].annotations, tools["retry_batch"].annotations
    assert cancel is not None and retry is not None
    assert cancel.read_only_hint is False and cancel.destructive_hint is True
    assert retry.read_only_hint is False and retry.destructive_hint is False, "a retry adds a run, removes nothing"
    assert all(len(tools[name].description or "") <= 921 for name in (*WRITE_TOOLS, "inspect_batch"))


def answering(action: str, seen: list[str]) -> Callable[..., Any]:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params.message)
        if action == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action=action)  # type: ignore[arg-type]

    return callback


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
async def test_elicitation_accept_decline_and_cancel(batch_sandbox: RunningSandbox, mode: str, action: str) -> None:
    batch_id = f"btch_elicit_{mode}_{action}"
    view = running_batch(batch_sandbox, batch_id)
    running = tier_task(batch_sandbox, view, 1)
    seen: list[str] = []
    settings = batch_settings(batch_sandbox, allow_writes=True)
    async with session(settings, mode=mode, elicitation_callback=answering(action, seen)) as client:
        result = await client.call_tool("cancel_tasks", {"batch_id": batch_id})
    assert not result.is_error, text_of(result)
    assert seen == [f"Cancel batch {batch_id}, 3 tiers, 1 running Ray jobs?"]
    status = batch_sandbox.get_task(running)["status"]
    if action == "accept":
        assert result.structured_content["outcome"] == "done"
        assert result.structured_content["ray_jobs_accepted"] == 1
        assert status == "CANCELED"
        assert [e["operation"] for e in writes(batch_sandbox)] == ["cancel_batch"]
    else:
        assert result.structured_content["outcome"] == "declined"
        assert "nothing was sent" in text_of(result)
        assert status == "IN_PROGRESS" and writes(batch_sandbox) == []


async def test_the_token_is_bound_to_the_arguments_and_used_once(batch_sandbox: RunningSandbox) -> None:
    failing_batch(batch_sandbox, "btch_token01")
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        preview = await client.call_tool("retry_batch", {"batch_id": "btch_token01"})
        data = preview.structured_content
        assert data["outcome"] == "needs_confirmation" and "Retry 6 failed document(s)" in data["preview"]
        token = data["confirmation_token"]
        assert f'"confirmation_token": "{token}"' in text_of(preview), "the literal call to make once confirmed"
        other = await client.call_tool("retry_batch", {"batch_id": "btch_token01", "retry_mode": "all",
                                                        "confirmation_token": token})  # fmt: skip
        assert other.is_error and "issued for other arguments" in text_of(other)
        assert "Nothing was sent" in text_of(other) and writes(batch_sandbox) == []
        done = await client.call_tool("retry_batch", {"batch_id": "btch_token01", "confirmation_token": token})
        assert done.structured_content["outcome"] == "done", text_of(done)
        again = await client.call_tool("retry_batch", {"batch_id": "btch_token01", "confirmation_token": token})
        assert again.is_error and "already used" in text_of(again)
    assert [e["operation"] for e in writes(batch_sandbox)] == ["retry_batch"]


async def test_an_expired_token_sends_nothing(batch_sandbox: RunningSandbox) -> None:
    failing_batch(batch_sandbox, "btch_token02")
    settings = batch_settings(batch_sandbox, allow_writes=True)
    clock = FakeClock(1_000.0)
    state = AppState(settings=settings, client=TasksClient(settings), clock=clock)
    async with Client(build_server(settings, state=state)) as client:
        preview = await client.call_tool("retry_batch", {"batch_id": "btch_token02"})
        token = preview.structured_content["confirmation_token"]
        clock.time += 121
        late = await client.call_tool("retry_batch", {"batch_id": "btch_token02", "confirmation_token": token})
    await state.client.aclose()
    assert late.is_error and "expired" in text_of(late)
    assert writes(batch_sandbox) == []


async def test_cancel_then_wait_until_the_batch_tasks_are_canceled(batch_sandbox: RunningSandbox) -> None:
    view = running_batch(batch_sandbox, "btch_cancel01")
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        done = await confirm_by_token(client, "cancel_tasks", {"batch_id": "btch_cancel01", "reason": "e2e test"})
        data = done.structured_content
        assert data["outcome"] == "done" and data["ray_jobs_refused"] == 0, text_of(done)
        follow = data["next_call"]
        assert follow["tool"] == "wait_for_task" and follow["arguments"]["until"] == "none_active"
        waited = await client.call_tool("wait_for_task", {**follow["arguments"], "timeout_seconds": 20})
        assert waited.structured_content["outcome"] == "none_active", text_of(waited)
        inspected = await client.call_tool("inspect_batch", {"batch_id": "btch_cancel01"})
    assert batch_sandbox.get_task(tier_task(batch_sandbox, view, 1))["status"] == "CANCELED"
    assert inspected.structured_content["status"] == "CANCELED"
    cancel = next(e for e in writes(batch_sandbox) if e["operation"] == "cancel_batch")
    assert cancel["query"] == "reason=e2e+test"


async def test_a_cancel_whose_ray_jobs_refuse_is_reported_as_partial(batch_sandbox: RunningSandbox) -> None:
    view = running_batch(batch_sandbox, "btch_cancel02", refuse_ray_jobs=1)
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        done = await confirm_by_token(client, "cancel_tasks", {"batch_id": "btch_cancel02"})
    data, text = done.structured_content, text_of(done)
    assert data["outcome"] == "partial" and data["ray_jobs_refused"] == 1
    assert "REFUSED to stop: work may still be running" in text and "Do not report it as canceled" in text
    assert batch_sandbox.get_task(tier_task(batch_sandbox, view, 1))["status"] == "IN_PROGRESS"


async def test_a_finished_batch_has_nothing_to_cancel_and_no_confirmation_is_asked(
    batch_sandbox: RunningSandbox,
) -> None:
    failing_batch(batch_sandbox, "btch_cancel03")
    seen: list[str] = []
    settings = batch_settings(batch_sandbox, allow_writes=True)
    async with session(settings, elicitation_callback=answering("accept", seen)) as client:
        result = await client.call_tool("cancel_tasks", {"batch_id": "btch_cancel03"})
    assert result.structured_content["outcome"] == "nothing_to_do" and "Nothing was sent" in text_of(result)
    assert seen == [] and writes(batch_sandbox) == []


async def test_a_batch_that_finished_since_the_preview_is_not_canceled(batch_sandbox: RunningSandbox) -> None:
    """The confirmed call reads the batch again: it failed in the meantime, so there is nothing to send."""
    view = running_batch(batch_sandbox, "btch_cancel04")
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        preview = await client.call_tool("cancel_tasks", {"batch_id": "btch_cancel04"})
        token = preview.structured_content["confirmation_token"]
        batch_sandbox.transition(tier_task(batch_sandbox, view, 1), "FAILED", error="worker lost")
        result = await client.call_tool("cancel_tasks", {"batch_id": "btch_cancel04", "confirmation_token": token})
    assert result.structured_content["outcome"] == "nothing_to_do", text_of(result)
    assert writes(batch_sandbox) == []


async def test_mixpeek_refusing_the_cancel_is_reported_as_such(batch_sandbox: RunningSandbox) -> None:
    """A 409-like refusal (Mixpeek documents none): the tool fails with Mixpeek's words, claims nothing."""
    running_batch(batch_sandbox, "btch_cancel05")
    settings = batch_settings(batch_sandbox, allow_writes=True)
    batch_sandbox.set_faults(
        force_status={"status": 409, "route": "cancel_batch", "message": "Batch btch_cancel05 is already COMPLETED"}
    )
    async with session(settings) as client:
        result = await confirm_by_token(client, "cancel_tasks", {"batch_id": "btch_cancel05"})
    text = text_of(result)
    assert result.is_error and "HTTP 409" in text and "already COMPLETED" in text
    assert "Mixpeek did not carry out cancel_tasks" in text


async def test_retry_transient_only_then_wait_on_the_new_run(batch_sandbox: RunningSandbox) -> None:
    failing_batch(batch_sandbox, "btch_retry01")
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        done = await confirm_by_token(client, "retry_batch", {"batch_id": "btch_retry01"})
        data = done.structured_content
        assert data["outcome"] == "done" and len(data["task_ids"]) == 1, text_of(done)
        follow = data["next_call"]
        assert follow == {"tool": "wait_for_task", "arguments": {"task_id": data["task_ids"][0]},
                          "why": "wait on the retry's new run"}  # fmt: skip
        waited = await client.call_tool("wait_for_task", {**follow["arguments"], "timeout_seconds": 30})
        assert waited.structured_content["outcome"] == "success", text_of(waited)
        after = await client.call_tool("inspect_batch", {"batch_id": "btch_retry01"})
    retry = next(e for e in writes(batch_sandbox) if e["operation"] == "retry_batch")
    assert retry["body"] == {"retry_mode": "transient_only", "max_retry_count": 3}
    assert after.structured_content["failure_classes"] == {"permanent": 3, "resource": 2}
    assert "retry_batch" not in {call["tool"] for call in after.structured_content["next_calls"]}


async def test_a_retry_answer_naming_no_task_is_followed_through_the_batch(batch_sandbox: RunningSandbox) -> None:
    failing_batch(batch_sandbox, "btch_retry02", quirks=["retry_without_task_ids"])
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        done = await confirm_by_token(client, "retry_batch", {"batch_id": "btch_retry02"})
    data = done.structured_content
    assert "from the batch read again" in text_of(done)
    assert data["next_call"]["arguments"] == {"task_id": data["task_ids"][0]}


async def test_kill_by_task_ids_then_wait(batch_sandbox: RunningSandbox) -> None:
    view = running_batch(batch_sandbox, "btch_kill01")
    running, finished = tier_task(batch_sandbox, view, 1), tier_task(batch_sandbox, view, 0)
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        done = await confirm_by_token(client, "cancel_tasks", {"task_ids": [running, finished]})
        data = done.structured_content
        assert data["outcome"] == "done" and data["task_ids"] == [running], text_of(done)
        waited = await client.call_tool("wait_for_task", {**data["next_call"]["arguments"], "timeout_seconds": 10})
        assert waited.structured_content["finished"] is True
        again = await client.call_tool("cancel_tasks", {"task_ids": [running]})
    assert batch_sandbox.get_task(running)["status"] == "CANCELED"
    assert again.structured_content["outcome"] == "nothing_to_do"
    assert [e["operation"] for e in writes(batch_sandbox)] == ["kill_task"]


async def test_bad_write_arguments_are_refused_before_any_request(batch_sandbox: RunningSandbox) -> None:
    async with session(batch_settings(batch_sandbox, allow_writes=True)) as client:
        both = await client.call_tool("cancel_tasks", {"task_ids": ["t1"], "batch_id": "btch_x"})
        mode = await client.call_tool("retry_batch", {"batch_id": "btch_x", "retry_mode": "everything"})
    assert both.is_error and "exactly one" in text_of(both)
    assert mode.is_error and "Accepted: transient_only, all" in text_of(mode)
    assert batch_sandbox.requests() == []
