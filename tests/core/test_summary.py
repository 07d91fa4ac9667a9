"""Summary formatting: what the model reads."""

from __future__ import annotations

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
        'abc · api_buckets_batches_process · FAILED · tier 2/2 · 12 objects · batch btch_1\n  error: "boom"'
    )


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
