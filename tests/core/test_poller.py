"""The shared poller and the finish estimator on a fake clock and a fake client: no sockets, no sleeps."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from mixpeek_tasks_mcp.client import Credentials
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.models import ListTasksResponse, TaskResponse
from mixpeek_tasks_mcp.waits.estimate import FLOOR_SECONDS, LATE_START, FinishEstimator
from mixpeek_tasks_mcp.waits.poller import Poller

pytestmark = pytest.mark.anyio


class FakeClient:
    """Answers every task IN_PROGRESS and records who asked for what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, list[str]]] = []

    async def list_tasks(self, request: Any, *, credentials: Credentials, **_: Any) -> ListTasksResponse:
        ids = request.filters.AND[0].value
        self.calls.append(("list", credentials.api_key, list(ids)))
        return ListTasksResponse(results=[TaskResponse(task_id=i, status="IN_PROGRESS") for i in ids])

    async def get_task(self, task_id: str, *, credentials: Credentials, **_: Any) -> TaskResponse:
        self.calls.append(("get", credentials.api_key, [task_id]))
        return TaskResponse(task_id=task_id, status="IN_PROGRESS")


async def test_tasks_of_two_keys_are_never_in_one_request_and_nothing_is_left_behind() -> None:
    clock, client = FakeClock(), FakeClient()
    poller = Poller(client, clock)  # type: ignore[arg-type]
    alice, bob = Credentials("sk_alice"), Credentials("sk_bob")
    one = poller.subscribe(alice, ["a1", "a2", "shared"], deadline=100)
    two = poller.subscribe(bob, ["b1", "shared"], deadline=100)
    three = poller.subscribe(alice, ["a1"], deadline=100)  # shares alice's a1 entry
    assert poller.entry_count == 5
    await poller.step()
    for kind, key, ids in client.calls:
        owner = {"sk_alice": {"a1", "a2", "shared"}, "sk_bob": {"b1", "shared"}}[str(key)]
        assert set(ids) <= owner, (kind, key, ids)
    assert sorted(len(ids) for _, _, ids in client.calls) == [2, 3]
    assert three.pending.keys() == {"a1"} and one.pending.keys() == {"a1", "a2", "shared"}
    for subscription in (one, two, three):
        subscription.close()
    assert poller.entry_count == 0
    await poller.aclose()


def tiered(status: str, tier: int | None, total: int = 4) -> TaskResponse:
    data = {"total_tiers": total, "current_tier": tier}
    return TaskResponse(task_id="t", status=status, additional_data=data)


def test_the_estimator_aims_at_the_finish_from_tier_progress() -> None:
    estimator = FinishEstimator(cap=30.0)
    estimator.observe(tiered("PENDING", None), 0.0)
    assert estimator.next_delay(0.0, 1.0) == 1.0  # nothing to go on: the backoff
    estimator.observe(tiered("IN_PROGRESS", 0), 10.0)  # tier 0 started ~5
    estimator.observe(tiered("IN_PROGRESS", 1), 20.0)  # tier 1 started ~15: 10 s a tier
    assert estimator.finish_estimate() == pytest.approx(45.0)
    assert estimator.next_delay(20.0, 30.0) == pytest.approx(25.0)  # one step, landing on the finish
    assert estimator.next_delay(20.0, 3.0) == pytest.approx(3.0)  # never later than the backoff's next poll
    assert estimator.next_delay(40.0, 30.0) == pytest.approx(5.0)
    assert estimator.per_tier() == pytest.approx(10.0)
    delays = [estimator.next_delay(46.0 + i, 30.0) for i in range(3)]
    # late: steps growing from LATE_START of the time per tier (2.5 s), not from the 1 s floor
    assert delays == pytest.approx([LATE_START * 10.0, LATE_START * 10.0 * 1.5, LATE_START * 10.0 * 2.25])


def test_late_steps_never_go_below_the_floor_nor_beyond_the_backoff() -> None:
    estimator = FinishEstimator(cap=30.0)
    estimator.observe(tiered("IN_PROGRESS", 0), 0.0)
    estimator.observe(tiered("IN_PROGRESS", 1), 2.0)  # tier 1 started ~1
    estimator.observe(tiered("IN_PROGRESS", 2), 4.0)  # tier 2 started ~3: 2 s a tier, finish ~7
    assert estimator.next_delay(20.0, 30.0) == pytest.approx(FLOOR_SECONDS)  # a quarter of 2 s is below the floor
    far = FinishEstimator(cap=30.0)
    far.observe(tiered("IN_PROGRESS", 0), 0.0)
    far.observe(tiered("IN_PROGRESS", 1), 200.0)
    far.observe(tiered("IN_PROGRESS", 2), 400.0)  # 200 s a tier: a quarter is 50 s, over the cap
    assert far.next_delay(2000.0, 12.0) == pytest.approx(12.0)  # the backoff's own step bounds it


def test_far_estimates_are_reached_in_steps_no_longer_than_the_cap() -> None:
    estimator = FinishEstimator(cap=30.0)
    estimator.observe(tiered("QUEUED", None), 0.0)
    estimator.observe(tiered("IN_PROGRESS", 0), 100.0)
    estimator.observe(tiered("IN_PROGRESS", 1), 200.0)
    assert estimator.finish_estimate() == pytest.approx(450.0)
    assert estimator.next_delay(200.0, 30.0) == pytest.approx(250.0 / 9)
    assert estimator.next_delay(200.0, 1.0) == pytest.approx(1.0)


async def settle(turns: int) -> None:
    """Let the poller's loop run ``turns`` scheduling turns (its fake-clock sleeps return at once)."""
    for _ in range(turns):
        await anyio.lowlevel.checkpoint()


class SlowKeyClient(FakeClient):
    """Like FakeClient, but every request made with ``slow_key`` hangs until ``release`` is set."""

    def __init__(self, slow_key: str) -> None:
        super().__init__()
        self.slow_key = slow_key
        self.release = anyio.Event()

    async def list_tasks(self, request: Any, *, credentials: Credentials, **kwargs: Any) -> ListTasksResponse:
        if credentials.api_key == self.slow_key:
            await self.release.wait()
        return await super().list_tasks(request, credentials=credentials, **kwargs)

    async def get_task(self, task_id: str, *, credentials: Credentials, **kwargs: Any) -> TaskResponse:
        if credentials.api_key == self.slow_key:
            await self.release.wait()
        return await super().get_task(task_id, credentials=credentials, **kwargs)


async def test_a_slow_key_does_not_hold_back_the_checks_of_another_key() -> None:
    clock, client = FakeClock(), SlowKeyClient("sk_slow")
    poller = Poller(client, clock)  # type: ignore[arg-type]
    slow = poller.subscribe(Credentials("sk_slow"), ["s1", "s2"], deadline=10_000)
    fast = poller.subscribe(Credentials("sk_fast"), ["f1", "f2"], deadline=10_000)
    await settle(500)  # the loop runs on its own (fake clock: its sleeps return at once)
    fast_checks = [ids for _, key, ids in client.calls if key == "sk_fast"]
    assert len(fast_checks) >= 3, "the fast key is checked again and again while the slow key's check hangs"
    assert all(set(ids) <= {"f1", "f2"} for ids in fast_checks)
    assert not [call for call in client.calls if call[1] == "sk_slow"], "the slow key's check is still hanging"
    assert not slow.pending and fast.pending.keys() == {"f1", "f2"}
    client.release.set()
    await settle(50)
    assert slow.pending.keys() == {"s1", "s2"}, "once it answers, the slow key's tasks are delivered"
    slow.close()
    fast.close()
    await poller.aclose()
    assert poller.entry_count == 0


async def test_a_new_wait_after_the_loop_ended_is_polled() -> None:
    clock, client = FakeClock(), FakeClient()
    poller = Poller(client, clock)  # type: ignore[arg-type]
    first = poller.subscribe(Credentials("sk_a"), ["a1"], deadline=100)
    await settle(20)
    first.close()
    await settle(20)
    calls = len(client.calls)
    second = poller.subscribe(Credentials("sk_a"), ["a2"], deadline=10_000)
    await settle(20)
    assert len(client.calls) > calls and second.pending.keys() == {"a2"}
    second.close()
    await poller.aclose()
