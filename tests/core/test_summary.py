"""Summary formatting: what the model reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mixpeek_tasks_mcp.arguments import ListTasksArguments
from mixpeek_tasks_mcp.models import ListTasksResponse, TaskResponse
from mixpeek_tasks_mcp.summary import list_result, quote_untrusted, row_line, task_row


def test_tier_progress_is_shown_one_based_and_zero_before_the_first_tier() -> None:
    started = task_row(TaskResponse(task_id="t", additional_data={"current_tier": 0, "total_tiers": 3}))
    queued = task_row(TaskResponse(task_id="t", additional_data={"current_tier": None, "total_tiers": 3}))
    assert (started.tier, queued.tier) == ("1/3", "0/3")


def test_untrusted_text_is_one_quoted_line_and_truncated() -> None:
    quoted = quote_untrusted('line one\n- "injected" line\t' + "y" * 500)
    assert "\n" not in quoted and quoted.startswith('"line one - \\"injected\\" line')
    assert len(quoted) <= 205 and quoted.endswith('…"')


def test_a_row_line_carries_the_decision_fields() -> None:
    task = TaskResponse(
        task_id="abc",
        task_type="api_buckets_batches_process",
        status="FAILED",
        additional_data={"object_count": 12, "batch_id": "btch_1", "current_tier": 1, "total_tiers": 2},
        error="boom",
    )
    assert row_line(task_row(task)) == (
        'abc · api_buckets_batches_process · FAILED · tier 2/2 · 12 objects · btch_1\n  error: "boom"'
    )
    unprefixed = task.model_copy(update={"additional_data": {"batch_id": "nightly-7"}, "error": None})
    assert row_line(task_row(unprefixed)).endswith(" · batch nightly-7"), "a label where the id does not say it"


def test_a_page_states_what_its_rows_share_and_gives_ages_with_their_reference_time() -> None:
    now = datetime.now(UTC)
    results = [
        {"task_id": "a", "task_type": "thumbnail", "status": "FAILED", "created_at": (now - timedelta(minutes=7))},
        {"task_id": "b", "task_type": "thumbnail", "status": "QUEUED", "created_at": (now - timedelta(hours=30))},
        {"task_id": "c", "task_type": "thumbnail", "status": "QUEUED", "created_at": (now - timedelta(days=9))},
    ]
    for item in results:
        item["created_at"] = item["created_at"].isoformat()
    text, _ = list_result(ListTasksArguments(limit=3), ListTasksResponse.model_validate({"results": results}))
    lines = text.splitlines()
    assert " · last field = age (created_at) at " in lines[0] and lines[0].endswith(" UTC")
    assert lines[1] == "Page status counts: QUEUED 2, FAILED 1 — all tasks below are thumbnail tasks"
    assert lines[2:5] == ["- a · FAILED · 7m", "- b · QUEUED · 30h", "- c · QUEUED · 9d"]


def test_a_last_page_has_no_next_call_and_says_so() -> None:
    arguments = ListTasksArguments(limit=2, offset=2)
    response = ListTasksResponse.model_validate(
        {"results": [{"task_id": "a", "status": "COMPLETED"}], "pagination": {"total": 3}}
    )
    text, result = list_result(arguments, response)
    assert text.startswith("Showing 3-3 of 3 tasks · newest first")
    assert text.endswith("End of results.")
    assert result.next_call is None and result.pagination.has_more is False


def test_without_a_total_a_full_page_offers_the_next_one() -> None:
    arguments = ListTasksArguments(limit=1, status="FAILED")
    response = ListTasksResponse.model_validate({"results": [{"task_id": "a", "status": "FAILED"}]})
    text, result = list_result(arguments, response)
    assert result.next_call == {"status": "FAILED", "limit": 1, "offset": 1}
    assert text.splitlines()[0] == "Showing 1-1 tasks · status=FAILED · newest first"
