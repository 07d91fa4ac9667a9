"""A bare one-tool MCP server on the same SDK: the cold-start baseline (stdio)."""

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="bare")


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run()
