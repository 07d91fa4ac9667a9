"""The OpenAI Agents SDK as the MCP client: it launches the server over stdio, converts the tools to strict
function tools (``convert_schemas_to_strict=True``) and invokes them with arguments as a strict model writes them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from agents.mcp import MCPServerStdio
from agents.mcp.util import MCPUtil
from agents.tool import FunctionTool
from agents.tool_context import ToolContext

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import SECRET_KEY, session, stdio_server, text_of

pytestmark = pytest.mark.anyio


def agents_server(sandbox: RunningSandbox, profile: str) -> MCPServerStdio:
    params = stdio_server(sandbox, MIXPEEK_SCHEMA_PROFILE=profile, MIXPEEK_LOG_LEVEL="WARNING")
    return MCPServerStdio(
        params={"command": params.command, "args": list(params.args), "env": dict(params.env or {})},
        client_session_timeout_seconds=60,
    )


async def invoke(tool: FunctionTool, arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments)
    result = await tool.on_invoke_tool(
        ToolContext(context=None, tool_name=tool.name, tool_call_id="call_1", tool_arguments=text), text
    )
    items = result if isinstance(result, list) else [result]
    answer = "\n".join(str(item.get("text", item)) if isinstance(item, dict) else str(item) for item in items)
    assert SECRET_KEY not in answer
    return masked(answer)


def masked(text: str) -> str:
    """Without what moves between two identical calls a few seconds apart: elapsed times, the clock the ages are
    given against, and the ages themselves."""
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<now>", text)
    return re.sub(r"\b\d+(\.\d+)? ?[smhd]\b", "<t>", text)


@pytest.mark.parametrize("profile", ["default", "openai-strict"])
async def test_the_agents_sdk_converts_every_tool_to_strict(sandbox: RunningSandbox, profile: str) -> None:
    async with agents_server(sandbox, profile) as server:
        tools = await server.list_tools()
        converted = [MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True) for tool in tools]
    assert {tool.name for tool in converted} >= {"list_tasks", "triage_tasks", "wait_for_task"}
    for tool in converted:
        assert isinstance(tool, FunctionTool) and tool.strict_json_schema, tool.name
        schema = tool.params_json_schema
        assert set(schema["required"]) == set(schema["properties"]), tool.name


CALLS = [
    ("list_tasks", {"status": "FAILED", "limit": 3}),
    ("triage_tasks", {"status": "FAILED", "max_tasks": 100}),
    ("wait_for_task", {"status": "FAILED", "until": "none_active", "timeout_seconds": 0}),
]


async def test_strict_tools_called_with_every_field_null_answer_as_without_them(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    """The Agents SDK holds a call to the strict schema (every key present), so the call without the null fields
    is made by the MCP SDK's own client; the two answers are the same."""
    plain: dict[str, str] = {}
    async with session(settings) as client:
        for name, given in CALLS:
            result = await client.call_tool(name, given)
            assert not result.is_error, text_of(result)
            plain[name] = masked(text_of(result))
    async with agents_server(sandbox, "openai-strict") as server:
        tools = {
            tool.name: MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
            for tool in await server.list_tools()
        }
        for name, given in CALLS:
            tool = tools[name]
            assert isinstance(tool, FunctionTool)
            filled = {key: given.get(key) for key in tool.params_json_schema["properties"]}
            assert None in filled.values()
            blanks = await invoke(tool, filled)
            assert "refused" not in blanks, blanks
            assert blanks == plain[name], name
