#!/bin/sh
# Register mixpeek-tasks-mcp with Claude Code (`claude mcp add`). Run ONE of the three commands.
# The shell expands "$MIXPEEK_API_KEY" / "$MIXPEEK_MCP_AUTH_TOKEN" now; Claude Code stores the value.
# Tool-call timeout: the CLI waits as long as MCP_TOOL_TIMEOUT (ms) allows; set it above timeout_seconds,
# e.g. MCP_TOOL_TIMEOUT=660000 for waits up to 600 s. The Claude Code desktop app cuts calls at ~60 s.
set -eu

# 1. Local stdio server, fetched and run by uv (no install step):
claude mcp add --transport stdio --scope user --env MIXPEEK_API_KEY="$MIXPEEK_API_KEY" mixpeek-tasks -- uvx mixpeek-tasks-mcp

# 2. Local stdio server, installed entry point (pipx install mixpeek-tasks-mcp, or pip in a venv on PATH):
# claude mcp add --transport stdio --scope user --env MIXPEEK_API_KEY="$MIXPEEK_API_KEY" mixpeek-tasks -- mixpeek-tasks-mcp

# 3. A shared server over Streamable HTTP (see "Run it for a team"); replace the URL with yours:
# claude mcp add --transport http --scope user mixpeek-tasks http://localhost:8000/mcp --header "Authorization: Bearer $MIXPEEK_MCP_AUTH_TOKEN"
