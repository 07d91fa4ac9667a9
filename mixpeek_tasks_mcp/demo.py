"""``mixpeek-tasks-mcp demo``: the whole product on the offline sandbox, seen through a real MCP client.

Starts the sandbox, launches this server over stdio exactly as Claude Desktop or Cursor would, and prints
what the agent sees for a few typical calls, including a wait on a live task with its progress.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from .sandbox import SandboxConfig, running_sandbox

RULE = "─" * 100


def _say(text: str = "") -> None:
    print(text, flush=True)  # stdout-ok: the demo's own output, not an MCP stdio server


def _show(result: CallToolResult) -> None:
    for block in result.content:
        _say(getattr(block, "text", str(block)))
    if result.is_error:
        _say("(returned as a tool error)")


@asynccontextmanager
async def _stdio_session(base_url: str, api_key: str) -> AsyncIterator[ClientSession]:
    """This server launched over stdio, as a client launches it, against the sandbox; yields the session."""
    env = {
        **os.environ,
        "MIXPEEK_API_BASE": base_url,
        "MIXPEEK_API_KEY": api_key,
        "MIXPEEK_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "mixpeek_tasks_mcp", "serve"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        yield session


async def _show_with_progress(session: ClientSession, title: str, arguments: dict[str, Any]) -> None:
    _say(RULE)
    _say(f"▶ {title}\n  wait_for_task {json.dumps(arguments)}\n")

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        _say(f"  progress: {message}")

    _show(await session.call_tool("wait_for_task", arguments, progress_callback=progress))


async def _session(base_url: str, api_key: str) -> None:
    started = time.monotonic()
    async with _stdio_session(base_url, api_key) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        _say(
            f"Connected over stdio to {init.server_info.name} {init.server_info.version} "
            f"in {time.monotonic() - started:.2f} s"
        )
        for tool in tools.tools:
            size = len(json.dumps(tool.input_schema, separators=(",", ":")))
            _say(f"  tool {tool.name}: {tool.title} (input schema {size} chars)")

        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("What failed recently?", "list_tasks", {"status": "failed", "limit": 5}),
            (
                "Why are tasks failing, and is anything stuck? (every problem task, grouped by cause)",
                "triage_tasks",
                {},
            ),
            (
                "Failed or canceled batch runs with more than 1,000 objects (a nested filter)",
                "list_tasks",
                {
                    "task_type": "API_BUCKETS_BATCHES_PROCESS",
                    "filters": {
                        "AND": [
                            {"field": "additional_data.object_count", "operator": "gt", "value": 1000},
                            {
                                "OR": [
                                    {"field": "status", "operator": "eq", "value": "FAILED"},
                                    {"field": "status", "operator": "eq", "value": "CANCELED"},
                                ]
                            },
                        ]
                    },
                    "limit": 5,
                },
            ),
            ("Page 2 of everything, 5 per page", "list_tasks", {"limit": 5, "offset": 5}),
            (
                "An agent's mistake is refused before any API call",
                "list_tasks",
                {"filters": {"AND": [{"field": "status", "operator": "greater_than", "value": "x"}]}},
            ),
        ]
        for title, name, arguments in calls:
            _say(RULE)
            _say(f"▶ {title}\n  {name} {json.dumps(arguments)}\n")
            _show(await session.call_tool(name, arguments))


async def _wait_demo(base_url: str, api_key: str, task_id: str, budget: float) -> None:
    async with _stdio_session(base_url, api_key) as session:
        await session.initialize()
        arguments = {"task_id": task_id, "timeout_seconds": budget}
        await _show_with_progress(session, "Wait for a live batch task, with progress", arguments)


async def _many_demo(base_url: str, api_key: str, task_ids: list[str], budget: float) -> None:
    async with _stdio_session(base_url, api_key) as session:
        await session.initialize()
        arguments = {"task_ids": task_ids, "timeout_seconds": budget}
        title = "Wait for a whole upload at once (one shared poller, one list call per check)"
        await _show_with_progress(session, title, arguments)


def _upload_tasks(sandbox: Any) -> list[str]:
    """An upload: a confirm, a batch submit, a tiered batch run and a feature extraction that fails."""
    plan = [
        ("api_buckets_uploads_confirm", [{"after_seconds": 1.0, "status": "COMPLETED"}]),
        ("api_buckets_batches_submit", [{"after_seconds": 1.5, "status": "COMPLETED"}]),
        (
            "api_buckets_batches_process",
            [{"after_seconds": 0.5, "status": "IN_PROGRESS"}, {"after_seconds": 4.0, "status": "COMPLETED"}],
        ),
        (
            "engine_feature_extractor_run",
            [
                {"after_seconds": 0.5, "status": "IN_PROGRESS"},
                {"after_seconds": 3.0, "status": "FAILED", "error": "Feature extractor timed out after 900s"},
            ],
        ),
    ]
    data = {"batch_id": "btch_upload", "bucket_id": "bkt_demo"}
    return [
        str(sandbox.create_task(task_type=kind, status="PENDING", additional_data=data, script=script)["task_id"])
        for kind, script in plan
    ]


def run_demo(*, quick: bool = False) -> int:
    """Run the demo; returns the process exit code."""
    started = time.monotonic()
    config = SandboxConfig(port=0, tasks=300, simulate=True, live_tasks=3, speed=4.0 if quick else 2.0)
    with running_sandbox(config) as sandbox:
        _say(f"Sandbox Mixpeek Tasks API at {sandbox.base_url} (offline, generated data; key {sandbox.api_key})")
        live = sandbox.create_task(
            task_type="api_buckets_batches_process",
            status="PENDING",
            additional_data={
                "batch_id": "btch_demo",
                "bucket_id": "bkt_demo",
                "namespace_id": "ns_demo",
                "object_count": 1200,
                "total_tiers": 3,
                "current_tier": None,
            },
            script=[
                {"after_seconds": 0.5, "status": "QUEUED"},
                {"after_seconds": 1.5, "status": "IN_PROGRESS", "additional_data": {"current_tier": 0}},
                {"after_seconds": 3.5, "status": "IN_PROGRESS", "additional_data": {"current_tier": 1}},
                {"after_seconds": 5.5, "status": "IN_PROGRESS", "additional_data": {"current_tier": 2}},
                {"after_seconds": 7.5, "status": "COMPLETED"},
            ],
        )
        anyio.run(_session, sandbox.base_url, sandbox.api_key)
        anyio.run(_wait_demo, sandbox.base_url, sandbox.api_key, str(live["task_id"]), 20 if quick else 25)
        anyio.run(_many_demo, sandbox.base_url, sandbox.api_key, _upload_tasks(sandbox), 20)
    _say(RULE)
    _say(
        f"Demo finished in {time.monotonic() - started:.1f} s. Try it in your client: "
        "command `mixpeek-tasks-mcp serve --sandbox`."
    )
    return 0
