"""One multi-task wait on 7 tasks against 7 single waits one after another (what an agent does without
``task_ids``): tool calls, API requests (the sandbox's log, counted by the ids each request asked about) and
the time until the agent knows every task has finished. One server over Streamable HTTP without a request
budget, the sandbox in its own process; the two modes run one after the other on fresh tasks that complete
at the same scripted times."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx2
from common import Figure, Section, http_server_process
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sandbox_log import LogCollector, task_ids_asked, wall

TASKS = 7
FINISH_TIMES = tuple(4.0 + 2.0 * n for n in range(TASKS))
"""Seconds from creation to each task's scripted completion: a batch whose tasks end over 12 s."""
WAIT_TIMEOUT = 45
NO_BUDGET = {"MIXPEEK_MAX_REQUESTS_PER_MINUTE": "0"}


async def _create(admin: httpx2.AsyncClient) -> tuple[list[str], float]:
    """The tasks, and when the last one completes (wall clock)."""
    tasks = [
        {
            "task_type": "api_buckets_batches_process",
            "status": "PENDING",
            "script": [{"after_seconds": 0.2, "status": "IN_PROGRESS"}, {"after_seconds": at, "status": "COMPLETED"}],
        }
        for at in FINISH_TIMES
    ]
    response = await admin.post("/_sandbox/tasks", json={"tasks": tasks})
    response.raise_for_status()
    rows = response.json()["tasks"]
    return [str(row["task_id"]) for row in rows], wall(rows[-1]["created_at"]) + FINISH_TIMES[-1]


async def _wait(session: ClientSession, arguments: dict[str, Any]) -> tuple[int, bool]:
    """Call wait_for_task, following next_call while it times out: (tool calls, ended finished)."""
    calls = 0
    while True:
        calls += 1
        result = await session.call_tool("wait_for_task", arguments)
        content = result.structured_content or {}
        if result.is_error or not content.get("next_call"):
            return calls, bool(content.get("finished")) and not result.is_error
        arguments = content["next_call"]


async def _mode(session: ClientSession, admin: httpx2.AsyncClient, many: bool) -> dict[str, Any]:
    log = LogCollector(admin)
    await log.clear()
    ids, last_completes = await _create(admin)
    started = time.time()
    if many:
        calls, finished = await _wait(session, {"task_ids": ids, "timeout_seconds": WAIT_TIMEOUT})
    else:
        calls, finished = 0, True
        for task_id in ids:
            more, done = await _wait(session, {"task_id": task_id, "timeout_seconds": WAIT_TIMEOUT})
            calls, finished = calls + more, finished and done
    answered = time.time()
    await log.collect()
    mine = set(ids)
    polls = [entry for entry in log.polls() if set(task_ids_asked(entry)) & mine]
    return {
        "tool_calls": calls,
        "all_finished": finished,
        "api_requests": len(polls),
        "task_checks": sum(len(task_ids_asked(entry)) for entry in polls),
        "seconds_to_answer": round(answered - started, 2),
        "delay_after_last_completion_s": round(answered - last_completes, 2),
    }


async def run(api_base: str, *, rounds: int) -> Section:
    data: dict[str, list[dict[str, Any]]] = {"many": [], "sequential": []}
    async with httpx2.AsyncClient(base_url=api_base, timeout=60.0, trust_env=False) as admin:
        with http_server_process(api_base, **NO_BUDGET) as (url, _):
            async with (
                httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, read=120.0), trust_env=False) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                for _ in range(rounds):
                    for many in (True, False):
                        data["many" if many else "sequential"].append(await _mode(session, admin, many))
    section = Section("multiwait", data={"finish_times_s": FINISH_TIMES, "rounds": rounds, **data})

    def med(mode: str, key: str) -> float:
        return float(statistics.median(row[key] for row in data[mode]))

    many_requests, seq_requests = med("many", "api_requests"), med("sequential", "api_requests")
    section.figures.append(
        Figure(
            f"8. wait on {TASKS} tasks: one multi-task call vs {TASKS} sequential single waits",
            "fewer tool calls and API requests, no later answer",
            f"tool calls {med('many', 'tool_calls'):g} vs {med('sequential', 'tool_calls'):g}; API requests "
            f"{many_requests:g} vs {seq_requests:g}; answer {med('many', 'seconds_to_answer'):g} s vs "
            f"{med('sequential', 'seconds_to_answer'):g} s after creation (last task done at {FINISH_TIMES[-1]:g} s)",
            many_requests < seq_requests
            and med("many", "seconds_to_answer") <= med("sequential", "seconds_to_answer") + 0.5
            and all(row["all_finished"] for rows in data.values() for row in rows),
        )
    )
    return section
