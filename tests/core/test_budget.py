"""The per-key request budget on the fake clock: learned limits, pauses per key, priorities, turns, drops."""

from __future__ import annotations

import itertools

import anyio
import anyio.lowlevel
import pytest

from mixpeek_tasks_mcp.budget import (
    BudgetPolicy,
    BudgetTimeout,
    KeyBudgets,
    Priority,
    RequestContext,
    RequestDropped,
)
from mixpeek_tasks_mcp.budget.adaptive import DECREASE_FACTOR
from mixpeek_tasks_mcp.budget.hooks import BudgetHooks
from mixpeek_tasks_mcp.budget.key import LATENCY_MARGIN, KeyBudget
from mixpeek_tasks_mcp.budget.learned import RateLimitAdvice, read_advice, window_seconds
from mixpeek_tasks_mcp.clock import FakeClock

pytestmark = pytest.mark.anyio

INTERACTIVE = RequestContext()
BACKGROUND = RequestContext(priority=Priority.BACKGROUND, owner="poller")


def table(ceiling: float | None = None, clock: FakeClock | None = None) -> tuple[KeyBudgets, FakeClock]:
    clock = clock or FakeClock(1000.0)
    return KeyBudgets(BudgetPolicy(ceiling_per_minute=ceiling), clock), clock


def advertised(
    limit: int, remaining: int | None = None, window: float = 60, reset_in: float | None = None
) -> RateLimitAdvice:
    return RateLimitAdvice(limit=limit, window=window, remaining=remaining, reset_in=reset_in)


async def send(budget: KeyBudget, context: RequestContext = INTERACTIVE, **answer: object) -> float:
    """One request: its grant, then its answer (200 unless said)."""
    waited = await budget.acquire(context, None)
    budget.finished(status=int(answer.pop("status", 200)), **answer)  # type: ignore[call-overload]
    return waited


def most_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for other in times if start <= other < start + window) for start in times)


async def test_before_its_first_answer_a_key_gets_five_at_once_then_one_every_six_seconds() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    grants = []
    for _ in range(12):
        await budget.acquire(INTERACTIVE, None)  # no answer yet: still the starting budget
        grants.append(clock.now())
    assert grants[:5] == [1000.0] * 5
    assert all(later - earlier >= 6.0 - 1e-9 for earlier, later in itertools.pairwise(grants[4:10]))
    assert most_in_any_window(grants, 60.0) <= 10
    assert budget.limit_text().startswith("10/min, this server's starting budget")


async def test_the_advertised_limit_replaces_the_start_and_caps_every_window() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(600, remaining=599))
    start = clock.now()
    for _ in range(599):
        await budget.acquire(INTERACTIVE, None)
    assert clock.now() == start, "599 more fit in the window at once"
    budget.finished(status=200, advice=advertised(600, remaining=0, reset_in=30))
    await budget.acquire(INTERACTIVE, None)
    assert clock.now() >= start + 30, "the API said none left until its reset"
    assert budget.limit_text() == "600/min for this key, learned from Mixpeek"


async def test_the_apis_remaining_overrides_the_servers_own_count() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(10, remaining=9))
    await send(budget, advice=advertised(10, remaining=0, reset_in=12))  # another process used the rest
    start = clock.now()
    await budget.acquire(INTERACTIVE, None)
    assert clock.now() - start >= 12
    assert clock.now() - start <= 12 + LATENCY_MARGIN + 0.01


async def test_a_429_pauses_only_its_own_key() -> None:
    budgets, clock = table()
    a, b = budgets.for_key("sk_a"), budgets.for_key("sk_b")
    await send(a, advice=advertised(600, remaining=0, reset_in=20), status=429, retry_after=20.0)
    start = clock.now()
    assert await send(b) == 0.0, "B is not held by A's 429"
    assert clock.now() == start
    await a.acquire(INTERACTIVE, None)
    assert clock.now() >= start + 20
    assert a.throttled == 1 and b.throttled == 0


async def test_a_ceiling_caps_what_the_api_advertises() -> None:
    budgets, _ = table(ceiling=30)
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(600, remaining=599))
    assert budget.per_minute == 30
    assert "capped by MIXPEEK_MAX_REQUESTS_PER_MINUTE" in budget.limit_text()


async def test_zero_removes_the_servers_own_limit_but_the_headers_still_rule() -> None:
    budgets, clock = table(ceiling=0)
    budget = budgets.for_key("sk_a")
    for _ in range(50):
        await budget.acquire(INTERACTIVE, None)
    assert clock.now() == 1000.0, "no starting budget"
    for _ in range(50):
        budget.finished(status=200)
    budget.finished(status=200, advice=advertised(5, remaining=0, reset_in=10))
    await budget.acquire(INTERACTIVE, None)
    assert clock.now() >= 1010


async def test_without_headers_the_limit_grows_slowly_and_halves_on_a_429() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    for _ in range(30):
        await send(budget)
    grown = budget.limit
    assert grown is not None and 10 < grown < 14, grown
    assert budget.source == "adaptive"
    clock.time += 60
    await send(budget, status=429, retry_after=2.0)
    assert budget.limit == pytest.approx(max(1.0, (grown + 1 / grown) * DECREASE_FACTOR), rel=0.05)
    assert "adapted from Mixpeek's 429s" in budget.limit_text()


async def test_an_impossible_deadline_is_refused_at_once_with_the_limit() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(2, remaining=0, reset_in=40))
    with pytest.raises(BudgetTimeout) as caught:
        await budget.acquire(INTERACTIVE, clock.now() + 5)
    assert caught.value.ready_in >= 39 and "2/min" in caught.value.limit_text
    assert clock.now() == 1000.0, "it did not sit out the deadline for nothing"


async def test_interactive_requests_go_before_queued_background_ones() -> None:
    budgets, _clock = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(1, remaining=0, reset_in=5))
    order: list[str] = []

    async def one(name: str, context: RequestContext) -> None:
        await budget.acquire(context, None)
        order.append(name)
        budget.finished(status=200, advice=advertised(1, remaining=0, reset_in=60))

    async with anyio.create_task_group() as group:
        for index in range(3):
            group.start_soon(one, f"poll{index}", BACKGROUND)
        await anyio.lowlevel.checkpoint()
        group.start_soon(one, "list", INTERACTIVE)
    assert order[0] == "list", order


async def test_background_owners_take_turns() -> None:
    budgets, _ = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(6000, remaining=5999))
    scan = RequestContext(priority=Priority.BACKGROUND, owner="scanner")
    other = RequestContext(priority=Priority.BACKGROUND, owner="other")
    order: list[str] = []

    async def one(name: str, context: RequestContext) -> None:
        await budget.acquire(context, None)
        order.append(name)
        budget.finished(status=200)

    async with anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(one, f"scan{index}", scan)
        await anyio.lowlevel.checkpoint()
        group.start_soon(one, "other", other)
    assert order.index("other") <= 2, order


async def test_background_is_paced_across_the_window_and_leaves_room_for_people() -> None:
    budgets, clock = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(20, remaining=19))
    grants = []
    for _ in range(40):
        await budget.acquire(BACKGROUND, None)
        grants.append(clock.now())
        budget.finished(status=200)
    gaps = [later - earlier for earlier, later in itertools.pairwise(grants)]
    assert min(gaps) >= 3.0 - 1e-9, "one per token interval (60 s / 20), never a burst"
    assert most_in_any_window(grants, 60.0) <= 18, "two slots of twenty stay free for interactive calls"
    start = clock.now()
    assert await budget.acquire(INTERACTIVE, None) == 0.0 and clock.now() == start


async def test_a_request_nobody_wants_any_more_is_dropped_unsent() -> None:
    budgets, _ = table()
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(1, remaining=0, reset_in=30))
    wanted = [True]
    context = RequestContext(priority=Priority.BACKGROUND, owner="w", wanted=lambda: wanted[0])
    granted_before = budget.granted

    async def stop_wanting() -> None:
        await anyio.lowlevel.checkpoint()
        wanted[0] = False

    async with anyio.create_task_group() as group:
        group.start_soon(stop_wanting)
        with pytest.raises(RequestDropped):
            await budget.acquire(context, None)
    assert budget.granted == granted_before and budget.dropped == 1


async def test_the_table_is_bounded_and_forgets_idle_keys() -> None:
    clock = FakeClock(0.0)
    budgets = KeyBudgets(BudgetPolicy(), clock, max_keys=3)
    for index in range(10):
        await send(budgets.for_key(f"sk_{index}"))
    assert len(budgets) == 3 and budgets.forgotten == 7
    assert budgets.granted == 10
    assert budgets.get("sk_9") is not None and budgets.get("sk_0") is None


def test_headers_are_read_as_numbers_and_nonsense_is_ignored() -> None:
    advice = read_advice(
        {
            "x-ratelimit-limit": "600",
            "x-ratelimit-remaining": "12",
            "x-ratelimit-window": "60",
            "x-ratelimit-reset": "1000030"[:0] + "2000000030",
        },
        wall_now=2_000_000_000.0,
    )
    assert advice == RateLimitAdvice(limit=600, window=60.0, remaining=12, reset_in=30.0)
    assert read_advice({"x-ratelimit-limit": "lots", "x-ratelimit-remaining": "-3"}, wall_now=0).empty
    assert window_seconds("1m") == 60 and window_seconds("90s") == 90 and window_seconds("soon") is None


async def test_under_a_ceiling_the_apis_count_only_ever_takes_room_away() -> None:
    budgets, clock = table(ceiling=10)
    budget = budgets.for_key("sk_a")
    await send(budget, advice=advertised(600, remaining=500))  # others used 99 of the key's 600: plenty left
    start = clock.now()
    for _ in range(9):
        await budget.acquire(INTERACTIVE, None)
    assert clock.now() == start, "the ceiling's 10, not the API's count of other processes' requests"
    other = budgets.for_key("sk_b")
    await send(other, advice=advertised(600, remaining=2))  # the key is nearly used up elsewhere
    for _ in range(2):
        await other.acquire(INTERACTIVE, None)
    assert clock.now() == start
    await other.acquire(INTERACTIVE, None)
    assert clock.now() > start, "only the two the API said were left went at once"


async def test_hooks_hear_waits_learned_limits_and_429s_and_a_failing_hook_breaks_nothing() -> None:
    clock = FakeClock(0.0)
    heard: list[tuple[object, ...]] = []

    def broken(*_: object) -> None:
        raise RuntimeError("metrics are down")

    hooks = BudgetHooks(
        on_wait=[lambda key, priority, seconds: heard.append(("wait", key, priority, seconds)), broken],
        on_learned=[lambda key, per_minute, source: heard.append(("learned", key, per_minute, source))],
        on_throttled=[lambda key: heard.append(("429", key)), broken],
    )
    budgets = KeyBudgets(BudgetPolicy(), clock, hooks=hooks)
    budget = budgets.for_key("sk_secret_key_value")
    await send(budget, advice=advertised(2, remaining=0, reset_in=10))
    await send(budget, status=429, retry_after=3.0)
    kinds = [event[0] for event in heard]
    assert kinds == ["learned", "wait", "429"], heard
    assert all("sk_secret" not in str(event) for event in heard), "hooks get the fingerprint, never the key"
    snapshot = budgets.snapshot()
    assert snapshot[0]["per_minute"] == 2 and snapshot[0]["throttled"] == 1
    assert "sk_secret" not in str(snapshot)
