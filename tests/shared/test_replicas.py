"""Three replicas of the real server over Streamable HTTP, sharing one real Redis, against the sandbox.

Sessions are spread round-robin over the replicas by the test. Costs are counted in sandbox requests; no
assertion is about time. Default settings (the sandbox advertises 600/min per key, the server learns it),
except in the budget test, which sets a low limit because it is about it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from ..http.conftest import SERVER_KEY, ServeFactory, api_requests, mcp_session
from ..http.test_live_surfaces import connected, until
from ..processes import ServerProcess
from ..redis_server import RedisServer, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BOUND = 120.0
"""Upper bound for one test's exchanges (never asserted as a duration)."""
WAITERS = 6
STEPS_SECONDS = 5.0


def replicas(serve: ServeFactory, count: int, **env: str) -> list[ServerProcess]:
    return [serve("streamable-http", **env) for _ in range(count)]


def task_requests(sandbox: RunningSandbox, task_id: str, after: int = 0) -> int:
    """Sandbox requests (GETs and batched lists) that concern ``task_id``, logged after id ``after``."""
    return sum(
        task_id in str(entry["path"]) + str(entry.get("body")) for entry in api_requests(sandbox) if entry["id"] > after
    )


def last_request_id(sandbox: RunningSandbox) -> int:
    entries = sandbox.requests()
    return int(entries[-1]["id"]) if entries else 0


async def cost_of_waits(sandbox: RunningSandbox, servers: Sequence[ServerProcess]) -> int:
    """WAITERS sessions, round-robin over ``servers``, wait on one task; it finishes after a few poll steps.
    Returns the sandbox requests made for it."""
    task = sandbox.create_task(task_type="thumbnail", status="IN_PROGRESS")
    task_id = task["task_id"]
    answers: list[str] = []

    async def wait(index: int) -> None:
        async with mcp_session(servers[index % len(servers)].url) as session:
            result = await session.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 60})
            assert not result.is_error, result.content
            answers.append(str(result.structured_content))

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            for index in range(WAITERS):
                group.start_soon(wait, index)
            await until(lambda: task_requests(sandbox, task_id) >= 1)
            await anyio.sleep(STEPS_SECONDS)  # a few poll steps (1 s, x1.5, ...) on every replica
            sandbox.transition(task_id, "COMPLETED")
    assert len(answers) == WAITERS and all("COMPLETED" in answer for answer in answers)
    return task_requests(sandbox, task_id)


async def test_waits_on_one_task_across_replicas_cost_what_one_replica_costs(
    serve: ServeFactory, sandbox: RunningSandbox, redis_server: RedisServer
) -> None:
    one = await cost_of_waits(sandbox, replicas(serve, 1))
    alone = await cost_of_waits(sandbox, replicas(serve, 3))
    shared = await cost_of_waits(sandbox, replicas(serve, 3, MIXPEEK_REDIS_URL=redis_server.url))
    assert shared <= one + 2, (one, shared)
    assert alone >= 2 * one, (alone, one)  # the control: without Redis each replica polls for itself


async def list_everywhere(
    sandbox: RunningSandbox, servers: Sequence[ServerProcess], calls: int
) -> tuple[int, list[str]]:
    """``calls`` list_tasks at once, round-robin over ``servers``: the requests the sandbox got, and the errors."""
    errors: list[str] = []
    opened, all_open = 0, anyio.Event()

    async def list_tasks(index: int) -> None:
        nonlocal opened
        async with mcp_session(servers[index % len(servers)].url) as session:
            opened += 1
            if opened == calls:
                all_open.set()
            await all_open.wait()
            result = await session.call_tool("list_tasks", {"limit": 1})
            if result.is_error:
                errors.append(str(result.content))

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            for index in range(calls):
                group.start_soon(list_tasks, index)
            await all_open.wait()
            start = last_request_id(sandbox)
    sent = [entry for entry in api_requests(sandbox, "/v1/tasks/list") if entry["id"] > start]
    return len(sent), errors


async def test_replicas_together_stay_within_one_replicas_budget(
    serve: ServeFactory, sandbox: RunningSandbox, redis_server: RedisServer
) -> None:
    # 6/min for the key, and calls that give up after 5 s rather than the default 30 (the test is about the count)
    budget = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "6", "MIXPEEK_REQUEST_DEADLINE": "5"}
    shared = replicas(serve, 3, MIXPEEK_REDIS_URL=redis_server.url, MIXPEEK_REDIS_PREFIX="budget-test:", **budget)
    sent, errors = await list_everywhere(sandbox, shared, 12)
    assert sent == 6, sent  # one window's worth for the key, whichever replica sent it
    assert len(errors) == 6 and all("request budget" in error for error in errors), errors
    alone = replicas(serve, 3, **budget)
    sent_alone, _ = await list_everywhere(sandbox, alone, 12)
    assert sent_alone == 12  # the control: each replica alone allows 4 of its own


async def test_a_listener_on_one_replica_hears_a_change_another_replica_observed(
    serve: ServeFactory, sandbox: RunningSandbox, redis_server: RedisServer
) -> None:
    first, second = replicas(serve, 2, MIXPEEK_REDIS_URL=redis_server.url)
    task = sandbox.create_task(task_type="thumbnail", status="IN_PROGRESS")
    task_id, uri = task["task_id"], f"mixpeek://tasks/{task['task_id']}"
    with anyio.fail_after(BOUND):
        async with (
            connected(first.url) as (legacy, updates, _caps),
            Client(first.url) as modern,
            modern.listen(resource_subscriptions=[uri]) as stream,
        ):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await legacy.subscribe_resource(uri)
            await until(lambda: task_requests(sandbox, task_id) >= 3)  # replica 1 has its baseline
            before = last_request_id(sandbox)
            sandbox.transition(task_id, "COMPLETED")
            async with mcp_session(second.url) as session:  # replica 2 waits, polls, sees it finished
                result = await session.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 60})
            assert "COMPLETED" in str(result.structured_content)
            await until(lambda: bool(updates))
            event = await stream.__anext__()
    assert updates == [uri] and getattr(event, "uri", None) == uri
    # one request saw the change, and both replicas (wait, legacy watch, listen stream) heard of it through Redis
    assert task_requests(sandbox, task_id, after=before) == 1


async def healthz(server: ServerProcess) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(server.base_url + "/healthz")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_killing_redis_mid_run_leaves_every_replica_answering(
    serve: ServeFactory, sandbox: RunningSandbox, redis_server: RedisServer
) -> None:
    prefix = "kill-test:"
    servers = replicas(serve, 3, MIXPEEK_REDIS_URL=redis_server.url, MIXPEEK_REDIS_PREFIX=prefix)
    task = sandbox.create_task(task_type="thumbnail", status="COMPLETED")

    async def every_replica_answers() -> None:
        for server in servers:
            async with mcp_session(server.url) as session:
                listed = await session.call_tool("list_tasks", {"limit": 2})
                waited = await session.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 5})
                assert not listed.is_error and not waited.is_error, (listed.content, waited.content)

    with anyio.fail_after(BOUND):
        await every_replica_answers()
        assert [(await healthz(server))["redis"] for server in servers] == ["up"] * 3
        redis_server.kill()
        await every_replica_answers()
        for server in servers:
            while (await healthz(server))["redis"] != "down":  # noqa: ASYNC110 - the state is in another process
                await anyio.sleep(0.2)
        redis_server.start()  # same port, empty: sharing resumes once each replica's backoff PING answers
        for server in servers:
            while (await healthz(server))["redis"] != "up":  # noqa: ASYNC110 - the state is in another process
                await anyio.sleep(0.2)
        await every_replica_answers()
    keys = redis_server.command("KEYS", f"{prefix}*")
    assert f"{prefix}window:".encode() in keys and f"{prefix}obs:".encode() in keys  # the budget and polls again
    assert SERVER_KEY.encode() not in keys and task["task_id"].encode() not in keys  # names are hashes
    for server in servers:
        assert server.stderr.count("Redis is unreachable") == 1, server.stderr
        assert "Redis is reachable again" in server.stderr


async def test_a_replica_started_against_an_unreachable_redis_serves(
    serve: ServeFactory, sandbox: RunningSandbox
) -> None:
    password = "s3cret-redis-pw-5521"
    server = serve("streamable-http", MIXPEEK_REDIS_URL=f"redis://:{password}@127.0.0.1:{free_port()}/0")
    task = sandbox.create_task(task_type="thumbnail", status="IN_PROGRESS")
    with anyio.fail_after(BOUND):
        async with mcp_session(server.url) as session:
            for _ in range(3):
                listed = await session.call_tool("list_tasks", {"limit": 2})
                assert not listed.is_error, listed.content
            waited = await session.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 3})
            assert not waited.is_error and "IN_PROGRESS" in str(waited.structured_content)
        assert (await healthz(server))["redis"] == "down"
    assert server.stderr.count("Redis is unreachable") == 1, server.stderr
    assert password not in server.stderr
