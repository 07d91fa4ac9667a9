"""Errors stay short whatever they refuse (issue 18, point 10): a backstop for every MCP request.

Our own refusals quote a short part of the offending input (validation/problems.py, task_ids.echo), but the
SDK's own ones do not: ``Unknown resource: <uri>`` and ``Unknown prompt: <name>`` echoed a 1 MB URI back as a
1,000,034-character message (and the dispatcher logged it). This server middleware clips the message of any
error a handler raises to ``MAX_ERROR_CHARS``, saying how long it was; the error's code is kept.
"""

from __future__ import annotations

from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError

MAX_ERROR_CHARS: Final = 300


def clip_message(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    if len(message) <= limit:
        return message
    return f"{message[: limit - 40]}… (clipped; {len(message):,} characters in all)"


async def short_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: re-raise a handler's long error with its message clipped."""
    try:
        return await call_next(ctx)
    except MCPError as error:
        if len(error.error.message) <= MAX_ERROR_CHARS:
            raise
        raise MCPError(code=error.error.code, message=clip_message(error.error.message)) from None
    except Exception as error:
        text = str(error)
        if len(text) <= MAX_ERROR_CHARS:
            raise
        try:
            clipped = type(error)(clip_message(text))
        except Exception:  # an exception type that takes other arguments: its class says enough
            clipped = ValueError(clip_message(text))
        raise clipped from None
