"""The shared token bucket against a real Redis: one atomic grant each, shared by every link, within limits."""

from __future__ import annotations

import anyio
import pytest

from mixpeek_tasks_mcp.shared.limiter import SharedLimiter
from mixpeek_tasks_mcp.shared.link import RedisLink, SharedUnavailable

from ..redis_server import RedisServer, free_port

pytestmark = pytest.mark.anyio


async def _link(url: str, prefix: str) -> RedisLink:
    link = RedisLink(url, password=None, timeout=0.5, prefix=prefix)
    await link.ping()
    return link


async def test_three_links_share_one_burst(redis_server: RedisServer) -> None:
    links = [await _link(redis_server.url, "t-burst:") for _ in range(3)]
    limiters = [SharedLimiter(link) for link in links]
    grants = [await limiters[i % 3].try_grant("key-a", 6.0, 3) for i in range(9)]
    assert [grant.granted for grant in grants] == [True] * 3 + [False] * 6
    assert all(grant.wait == 0 for grant in grants[:3])
    assert 9.0 <= grants[3].wait <= 10.0  # 6/min: the next token in ~10 s
    other = await limiters[0].try_grant("key-b", 6.0, 3)  # another key has its own bucket
    assert other.granted and other.wait == 0
    for link in links:
        await link.aclose()


async def test_reservations_queue_in_order(redis_server: RedisServer) -> None:
    link = await _link(redis_server.url, "t-queue:")
    limiter = SharedLimiter(link)
    waits = [(await limiter.try_grant("k", 60.0, 1, max_wait=10)).wait for _ in range(4)]
    assert waits[0] == 0
    assert [round(w) for w in waits[1:]] == [1, 2, 3]  # 60/min: one a second, each reserved after the last
    await link.aclose()


async def test_pause_holds_every_link(redis_server: RedisServer) -> None:
    first, second = await _link(redis_server.url, "t-pause:"), await _link(redis_server.url, "t-pause:")
    await SharedLimiter(first).pause("k", 5.0)
    grant = await SharedLimiter(second).try_grant("k", 600.0, 10)
    assert not grant.granted and 4.0 <= grant.wait <= 5.0
    for link in (first, second):
        await link.aclose()


async def test_unreachable_redis_fails_fast_and_says_down() -> None:
    link = RedisLink(f"redis://127.0.0.1:{free_port()}/0", password=None, timeout=0.3, prefix="x:")
    assert not await link.ping()
    with anyio.fail_after(1):  # the bound this test is about: a down link never blocks
        with pytest.raises(SharedUnavailable):
            await SharedLimiter(link).try_grant("k", 10, 5)
    await link.aclose()


async def test_the_window_log_admits_the_limit_across_links_then_names_the_wait(redis_server: RedisServer) -> None:
    links = [await _link(redis_server.url, "t-window:") for _ in range(3)]
    limiters = [SharedLimiter(link) for link in links]
    waits = [await limiters[i % 3].admit("fp-a", limit=4, window=60.0) for i in range(6)]
    assert waits[:4] == [0.0] * 4  # the key's 4 per window, from whichever replica
    assert all(59.0 <= wait <= 61.0 for wait in waits[4:])  # until the oldest leaves the window (+1 s margin)
    assert await limiters[0].admit("fp-b", limit=4, window=60.0) == 0.0  # another key: its own log
    for link in links:
        await link.aclose()


async def test_the_window_log_lets_the_replica_decide_while_redis_is_away() -> None:
    link = RedisLink(f"redis://127.0.0.1:{free_port()}/0", password=None, timeout=0.3, prefix="x:")
    assert not await link.ping()
    assert await SharedLimiter(link).admit("fp", limit=1, window=60.0) == 0.0
    await link.aclose()
