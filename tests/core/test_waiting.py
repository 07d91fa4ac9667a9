"""The wait as the product runs it (follow.wait_one on the shared poller), in virtual time: no real sleeps.

The poller's loop and the wait sleep on one ``VirtualClock``; time jumps to the earliest sleeper once every
task is blocked, so the schedule (backoff, memory, estimate) is exactly the one a real wait follows.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from mixpeek_tasks_mcp.budget import BudgetPolicy, KeyBudget
from mixpeek_tasks_mcp.budget.hooks import BudgetHooks
from mixpeek_tasks_mcp.client import Credentials, MixpeekError, TaskNotFoundError
from mixpeek_tasks_mcp.clock import VirtualClock
from mixpeek_tasks_mcp.models import ListTasksResponse, TaskResponse
from mixpeek_tasks_mcp.sandbox.simulator import apply_patch, lifecycle_steps
from mixpeek_tasks_mcp.waits import poller as poller_module
from mixpeek_tasks_mcp.waits.estimate import FinishEstimator
from mixpeek_tasks_mcp.waits.follow import wait_one
from mixpeek_tasks_mcp.waits.poller import Poller
from mixpeek_tasks_mcp.waits.rules import WaitOutcome
from mixpeek_tasks_mcp.waits.schedule import Backoff, BackoffMemory

pytestmark = pytest.mark.anyio
KEY = Credentials("sk_core")


def no_jitter() -> float:
    return 0.5  # the midpoint: jitter factor exactly 1


class ScriptedTasks:
    """A Tasks API whose one task answers by the clock: ``answer(now)`` gives the task or raises."""

    def __init__(self, clock: VirtualClock, answer: Any) -> None:
        self.clock, self.answer = clock, answer
        self.calls: list[float] = []

    def _now(self, task_id: str) -> TaskResponse:
        self.calls.append(self.clock.now())
        result = self.answer(self.clock.now())
        if isinstance(result, Exception):
            raise result
        if isinstance(result, str):
            return TaskResponse(task_id=task_id, task_type="thumbnail", status=result)
        assert isinstance(result, TaskResponse)
        return result

    async def get_task(self, task_id: str, **_: Any) -> TaskResponse:
        return self._now(task_id)

    async def list_tasks(self, request: Any, **_: Any) -> ListTasksResponse:  # pragma: no cover - one task
        return ListTasksResponse(results=[self._now(request.filters.AND[0].value[0])])

    def budget_for(self, credentials: Credentials) -> KeyBudget:
        """A key budget as the real client keeps one: asked what holds a wait that saw nothing of its task."""
        return KeyBudget("core", BudgetPolicy(), self.clock, hooks=BudgetHooks())


def finishing_at(seconds: float, final: str = "COMPLETED") -> Any:
    return lambda now: final if now >= seconds else "IN_PROGRESS"


async def waited(
    answer: Any, budget: float, *, memory: BackoffMemory | None = None, clock: VirtualClock | None = None, **kw: Any
) -> tuple[WaitOutcome, list[float], VirtualClock]:
    """One wait_for_task on the product's path; the outcome, when the API was asked, and the clock."""
    clock = clock or VirtualClock()
    tasks = ScriptedTasks(clock, answer)
    poller = Poller(tasks, clock, rng=no_jitter, memory=memory or BackoffMemory(clock))  # type: ignore[arg-type]
    try:
        outcome = await clock.run(lambda: wait_one(poller, KEY, "t1", budget=budget, **kw))
    finally:
        await poller.aclose()
    assert poller.entry_count == 0, "a finished wait leaves nothing in the poller"
    return outcome, tasks.calls, clock


def test_backoff_grows_by_the_factor_and_stops_at_the_cap() -> None:
    backoff = Backoff(initial=1.0, factor=1.5, cap=30.0, jitter=0.1)
    delays = [backoff.delay(n, no_jitter) for n in range(12)]
    assert delays[:4] == pytest.approx([1.0, 1.5, 2.25, 3.375])
    assert max(delays) == 30.0
    assert delays == sorted(delays)


def test_jitter_stays_within_its_band_and_under_the_cap() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, cap=30.0, jitter=0.1)
    assert backoff.delay(0, lambda: 0.0) == pytest.approx(0.9)
    assert backoff.delay(0, lambda: 0.999999) == pytest.approx(1.1, abs=1e-5)
    assert backoff.delay(10, lambda: 0.999999) == 30.0


async def test_completes_and_reports_polls_and_elapsed_time() -> None:
    outcome, calls, _ = await waited(finishing_at(10.0), 45)
    assert outcome.outcome == "success"
    assert outcome.task.status == "COMPLETED"
    assert outcome.polls == len(calls)
    assert calls[0] == pytest.approx(0.05)  # the arrival grace: waits arriving together share one request
    assert outcome.waited == pytest.approx(calls[-1]) and calls[-1] >= 10.0
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert gaps == pytest.approx([Backoff().delay(n, no_jitter) for n in range(len(gaps))])


async def test_never_sleeps_past_the_deadline_and_checks_once_more_at_it() -> None:
    outcome, calls, clock = await waited(finishing_at(1000.0), 45)
    assert outcome.outcome == "timed_out"
    assert calls[-1] == pytest.approx(45.0)  # the last check is at the deadline
    assert all(call <= 45.0 for call in calls)
    assert outcome.task.status == "IN_PROGRESS"
    assert clock.now() == pytest.approx(45.0)


async def test_zero_budget_checks_exactly_once() -> None:
    outcome, calls, _ = await waited(finishing_at(5.0), 0)
    assert outcome.outcome == "timed_out"
    assert calls == [0.0]


async def test_a_task_finishing_after_60_seconds_takes_few_polls() -> None:
    outcome, calls, _ = await waited(finishing_at(60.0), 600)
    assert outcome.outcome == "success"
    assert len(calls) <= 11
    assert outcome.waited - 60.0 < 30.0  # detected within one capped interval


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        ("COMPLETED_WITH_ERRORS", "partial"),
        ("FAILED", "failure"),
        ("CANCELED", "failure"),
        ("INTERRUPTED", "failure"),
        ("DRAFT", "stalled"),
        ("SKIPPED", "stalled"),
    ],
)
async def test_final_statuses_end_the_wait_with_their_outcome(final: str, outcome: str) -> None:
    result, _, _ = await waited(finishing_at(3.0, final), 45)
    assert result.outcome == outcome


@pytest.mark.parametrize("status", ["UNKNOWN", "SOMETHING_NEW"])
async def test_unknown_statuses_keep_polling_until_the_budget(status: str) -> None:
    result, _, _ = await waited(lambda now: status, 20)
    assert result.outcome == "timed_out"
    assert result.task.status == status
    assert result.polls > 3


async def test_stops_at_a_requested_status() -> None:
    states = iter(["PENDING", "QUEUED", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"])
    result, _, _ = await waited(lambda now: next(states), 45, stop_statuses={"IN_PROGRESS"})
    assert (result.outcome, result.polls) == ("reached", 3)


async def test_transient_upstream_errors_are_polled_through() -> None:
    answers: list[object] = ["IN_PROGRESS", MixpeekError("503", status=503), MixpeekError("net", status=None)]
    answers.append("COMPLETED")
    result, calls, _ = await waited(lambda now: answers.pop(0), 45)
    assert (result.outcome, result.polls, len(calls)) == ("success", 2, 4)


async def test_a_wait_whose_every_check_the_budget_refused_times_out_without_a_task() -> None:
    refused = MixpeekError("GET /v1/tasks/t1 was not sent: no room", status=429, error_type="request_budget")
    result, calls, _ = await waited(lambda now: refused, 10)
    assert (result.outcome, result.task, result.polls) == ("timed_out", None, 0)
    assert result.unchecked is not None and "request budget" in result.unchecked
    assert result.last_error == str(refused) and len(calls) >= 2  # it kept trying, up to its deadline


async def test_mixpeek_failing_every_check_of_an_unseen_task_is_still_an_error() -> None:
    with pytest.raises(MixpeekError) as failed:
        await waited(lambda now: MixpeekError("Could not reach Mixpeek (ReadTimeout)", status=None), 10)
    assert "ReadTimeout" in str(failed.value)


async def test_not_found_and_auth_errors_end_the_wait_at_once() -> None:
    with pytest.raises(TaskNotFoundError):
        await waited(lambda now: TaskNotFoundError("gone", status=404), 45)
    with pytest.raises(MixpeekError) as refused:
        await waited(lambda now: MixpeekError("bad key", status=401), 45)
    assert refused.value.status == 401


async def test_follow_up_calls_resume_the_backoff_instead_of_restarting() -> None:
    async def agent_waits(resume: bool) -> int:
        """An agent calling again with 45 s budgets until the task (done at 300 s) is seen finished."""
        clock = VirtualClock()
        memory = BackoffMemory(clock)
        polls = 0
        while True:
            used = memory if resume else BackoffMemory(clock)
            outcome, calls, _ = await waited(finishing_at(300.0), 45, memory=used, clock=clock)
            polls += len(calls)
            if outcome.outcome != "timed_out":
                return polls

    restarting = await agent_waits(False)
    resuming = await agent_waits(True)
    assert resuming < restarting / 2


async def test_an_over_estimated_queue_is_seen_on_the_backoffs_schedule() -> None:
    """A queued task says "7 minutes" and finishes at 4 s: the estimate may not push the next poll later."""

    def queued(now: float) -> TaskResponse:
        if now >= 4.0:
            return TaskResponse(task_id="t1", status="COMPLETED")
        return TaskResponse(task_id="t1", status="PENDING", queue_position=3, estimated_wait_minutes=7)

    outcome, calls, _ = await waited(queued, 45)
    _, plain, _ = await waited(finishing_at(4.0), 45)
    assert outcome.outcome == "success"
    assert calls == pytest.approx(plain), "the same polls as the plain backoff: the estimate delayed nothing"


@pytest.mark.parametrize("seed", range(5))
async def test_aiming_at_a_tiered_batchs_finish_never_sees_it_later_than_the_backoff(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox's own lifecycle of an 8-tier, 10-minute batch: the estimate adds polls, it never moves the
    backoff's (extra polls once advanced the backoff's attempts, and so saw this batch later in 15 of 21 runs)."""
    doc = {"task_id": "t1", "task_type": "api_buckets_batches_process", "status": "PENDING"}
    doc["additional_data"] = {"total_tiers": 8}
    steps = lifecycle_steps(random.Random(seed), doc, 600.0, "COMPLETED")

    def batch(now: float) -> TaskResponse:
        state = dict(doc)
        for at, patch in steps:
            if at <= now:
                state = apply_patch(state, patch)
        return TaskResponse.model_validate(state)

    aimed, aimed_calls, _ = await waited(batch, 900)
    monkeypatch.setattr(poller_module, "FinishEstimator", PlainBackoff)
    plain, plain_calls, _ = await waited(batch, 900)
    assert aimed.outcome == plain.outcome == "success"
    assert aimed_calls[-1] <= plain_calls[-1], "seen finished no later than the plain backoff sees it"


class PlainBackoff(FinishEstimator):
    def next_delay(self, now: float, backoff_delay: float) -> float:
        return backoff_delay


def test_backoff_memory_forgets_stale_and_old_entries() -> None:
    clock = VirtualClock()
    memory = BackoffMemory(clock, max_entries=2, forget_after=100)
    memory.remember("a", 5)
    memory.remember("b", 6)
    memory.remember("c", 7)
    assert (memory.resume("a"), memory.resume("b"), memory.resume("c")) == (0, 6, 7)
    clock.time += 101
    assert memory.resume("b") == 0
    memory.forget("c")
    assert memory.resume("c") == 0
