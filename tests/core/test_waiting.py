"""The poll schedule and the wait loop, on a fake clock: no real sleeps."""

from __future__ import annotations

import pytest

from mixpeek_tasks_mcp.client import MixpeekError, TaskNotFoundError
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.models import TaskResponse
from mixpeek_tasks_mcp.waits.reference import wait_for_task
from mixpeek_tasks_mcp.waits.schedule import Backoff, BackoffMemory

pytestmark = pytest.mark.anyio


def no_jitter() -> float:
    return 0.5  # the midpoint: jitter factor exactly 1


def finishing_at(clock: FakeClock, seconds: float, final: str = "COMPLETED"):  # type: ignore[no-untyped-def]
    """A fetch that reports IN_PROGRESS until the clock passes ``seconds``."""
    calls: list[float] = []

    async def fetch(deadline: float) -> TaskResponse:
        calls.append(clock.now())
        status = final if clock.now() >= seconds else "IN_PROGRESS"
        return TaskResponse(task_id="t1", task_type="thumbnail", status=status)

    return fetch, calls


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
    clock = FakeClock()
    fetch, calls = finishing_at(clock, 10.0)
    outcome = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter)
    assert outcome.outcome == "success"
    assert outcome.task.status == "COMPLETED"
    assert outcome.polls == len(calls)
    assert calls[0] == 0.0
    assert outcome.waited == calls[-1] >= 10.0


async def test_never_sleeps_past_the_deadline_and_checks_once_more_at_it() -> None:
    clock = FakeClock()
    fetch, calls = finishing_at(clock, 1000.0)
    outcome = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter)
    assert outcome.outcome == "timed_out"
    assert clock.now() == pytest.approx(45.0)
    assert calls[-1] == pytest.approx(45.0)  # the last check is at the deadline
    assert all(call <= 45.0 for call in calls)
    assert outcome.task.status == "IN_PROGRESS"


async def test_zero_budget_checks_exactly_once() -> None:
    clock = FakeClock()
    fetch, calls = finishing_at(clock, 5.0)
    outcome = await wait_for_task(fetch, budget=0, clock=clock, rng=no_jitter)
    assert outcome.outcome == "timed_out"
    assert len(calls) == 1
    assert clock.sleeps == []


async def test_a_task_finishing_after_60_seconds_takes_few_polls() -> None:
    clock = FakeClock()
    fetch, calls = finishing_at(clock, 60.0)
    outcome = await wait_for_task(fetch, budget=600, clock=clock, rng=no_jitter)
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
    clock = FakeClock()
    fetch, _ = finishing_at(clock, 3.0, final)
    result = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter)
    assert result.outcome == outcome


@pytest.mark.parametrize("status", ["UNKNOWN", "SOMETHING_NEW"])
async def test_unknown_statuses_keep_polling_until_the_budget(status: str) -> None:
    clock = FakeClock()

    async def fetch(deadline: float) -> TaskResponse:
        return TaskResponse(task_id="t1", status=status)

    result = await wait_for_task(fetch, budget=20, clock=clock, rng=no_jitter)
    assert result.outcome == "timed_out"
    assert result.task.status == status
    assert result.polls > 3


async def test_stops_at_a_requested_status() -> None:
    clock = FakeClock()
    states = iter(["PENDING", "QUEUED", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"])

    async def fetch(deadline: float) -> TaskResponse:
        return TaskResponse(task_id="t1", status=next(states))

    result = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter, stop_statuses={"IN_PROGRESS"})
    assert (result.outcome, result.polls) == ("reached", 3)


async def test_transient_upstream_errors_are_polled_through() -> None:
    clock = FakeClock()
    answers: list[object] = [
        TaskResponse(task_id="t1", status="IN_PROGRESS"),
        MixpeekError("503", status=503),
        MixpeekError("network", status=None),
        TaskResponse(task_id="t1", status="COMPLETED"),
    ]

    async def fetch(deadline: float) -> TaskResponse:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, TaskResponse)
        return answer

    result = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter)
    assert (result.outcome, result.polls) == ("success", 2)


async def test_not_found_and_auth_errors_end_the_wait_at_once() -> None:
    clock = FakeClock()

    async def missing(deadline: float) -> TaskResponse:
        raise TaskNotFoundError("gone", status=404)

    with pytest.raises(TaskNotFoundError):
        await wait_for_task(missing, budget=45, clock=clock, rng=no_jitter)

    async def refused(deadline: float) -> TaskResponse:
        raise MixpeekError("bad key", status=401)

    with pytest.raises(MixpeekError):
        await wait_for_task(refused, budget=45, clock=clock, rng=no_jitter)
    assert clock.sleeps == []


async def test_follow_up_calls_resume_the_backoff_instead_of_restarting() -> None:
    async def agent_waits(memory: BackoffMemory | None) -> int:
        clock = FakeClock()
        fetch, calls = finishing_at(clock, 300.0)
        while True:
            attempt = memory.resume("t1") if memory else 0
            outcome = await wait_for_task(fetch, budget=45, clock=clock, rng=no_jitter, first_attempt=attempt)
            if outcome.outcome != "timed_out":
                return len(calls)
            if memory:
                memory.remember("t1", outcome.next_attempt)

    restarting = await agent_waits(None)
    resuming = await agent_waits(BackoffMemory(FakeClock()))
    assert resuming < restarting / 2


def test_backoff_memory_forgets_stale_and_old_entries() -> None:
    clock = FakeClock()
    memory = BackoffMemory(clock, max_entries=2, forget_after=100)
    memory.remember("a", 5)
    memory.remember("b", 6)
    memory.remember("c", 7)
    assert (memory.resume("a"), memory.resume("b"), memory.resume("c")) == (0, 6, 7)
    clock.time += 101
    assert memory.resume("b") == 0
    memory.forget("c")
    assert memory.resume("c") == 0
