"""The server as clients launch it: a subprocess speaking MCP over stdio."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import SECRET_KEY, stdio_server, text_of

pytestmark = pytest.mark.anyio


async def test_the_tools_answer_over_stdio(sandbox: RunningSandbox) -> None:
    task = sandbox.create_task(task_type="thumbnail", status="COMPLETED")
    async with stdio_client(stdio_server(sandbox)) as (read, write), ClientSession(read, write) as client:
        init = await client.initialize()
        assert init.server_info.name == "mixpeek-tasks-mcp"
        tools = await client.list_tools()
        assert sorted(tool.name for tool in tools.tools) == [
            "inspect_batch",
            "list_tasks",
            "triage_tasks",
            "wait_for_task",
        ]
        triaged = await client.call_tool("triage_tasks", {"max_tasks": 150})
        assert not triaged.is_error and "Scanned " in text_of(triaged)
        assert triaged.structured_content is not None and triaged.structured_content["groups"]
        listed = await client.call_tool("list_tasks", {"status": "COMPLETED", "limit": 3})
        assert not listed.is_error and text_of(listed).startswith("Showing 1-3 of ")
        waited = await client.call_tool("wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 5})
        assert not waited.is_error and "finished successfully" in text_of(waited)
        refused = await client.call_tool("list_tasks", {"status": "nope"})
        assert refused.is_error
        again = await client.call_tool("list_tasks", {"limit": 1})
        assert not again.is_error


async def test_without_a_key_the_server_starts_and_every_call_names_the_setting(sandbox: RunningSandbox) -> None:
    params = stdio_server(sandbox, MIXPEEK_API_KEY="")
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        for name, arguments in (("list_tasks", {}), ("triage_tasks", {}), ("wait_for_task", {"task_id": "t1"})):
            result = await client.call_tool(name, arguments)
            assert result.is_error
            assert "MIXPEEK_API_KEY" in text_of(result)


def test_schema_and_call_commands_print_what_the_agent_sees(sandbox: RunningSandbox) -> None:
    env = {**os.environ, "MIXPEEK_API_BASE": sandbox.base_url, "MIXPEEK_API_KEY": SECRET_KEY}
    schema = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", "schema"], env=env, capture_output=True, text=True, timeout=60
    )
    assert schema.returncode == 0, schema.stderr
    assert '"name": "list_tasks"' in schema.stdout and "$ref" not in schema.stdout
    call = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", "call", "list_tasks", '{"status": "failed", "limit": 2}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert call.returncode == 0, call.stderr
    assert call.stdout.startswith("Showing 1-2 of ")
    assert "--- structuredContent ---" in call.stdout
    assert SECRET_KEY not in call.stdout + call.stderr + schema.stdout + schema.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", "call", "list_tasks", '{"limit": 1000}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "limit: must be from 1 to 100" in bad.stdout
