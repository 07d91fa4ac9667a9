"""Sessions share one copy of the list answers (issue 18, point 9): ~280 KB less per idle session.

mcp 2.3 keeps each Streamable HTTP session's last answer alive until the session's next request (measured: a
session that has listed tools holds 316 KB, one that then pinged holds 37 KB, as a bare server does). Our
``tools/list`` is a 48 KB answer of nested JSON schemas, which the SDK's serialization copies into new dicts for
every call: at the default 1,000 sessions that was ~300 MB of identical copies. This server middleware, the
outermost of ours, hands back an earlier answer that is equal to the new one (compared as values, a few dozen
microseconds), so every session's retained answer is the same object and the copy is freed at once.
"""

from __future__ import annotations

from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

LIST_METHODS: Final = frozenset({"tools/list", "prompts/list", "resources/list", "resources/templates/list"})
MAX_KEPT: Final = 8
"""Distinct answers kept per method (with and without the task board, per protocol version)."""


class SharedListResults:
    """Server middleware: an answer to a list method equal to an earlier one is that earlier object."""

    def __init__(self) -> None:
        self._kept: dict[str, list[dict[str, Any]]] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method not in LIST_METHODS or not isinstance(result, dict):
            return result
        kept = self._kept.setdefault(ctx.method, [])
        for earlier in kept:
            if earlier == result:
                return earlier
        if len(kept) < MAX_KEPT:
            kept.append(result)
        return result
