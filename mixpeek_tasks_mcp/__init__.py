"""MCP server for Mixpeek's asynchronous tasks: list_tasks and wait_for_task."""

__version__ = "0.1.0"
