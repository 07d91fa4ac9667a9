"""The batch tools, wired like the task tools (``..tools``): check the arguments, call the capability, return
text and structured content. The write tools exist only when the operator turned writes on (Settings.allow_writes,
from MIXPEEK_ALLOW_WRITES or --allow-writes); nothing a client sends, header or argument, can add them."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from mcp_types import InputRequiredResult

from ..client import MixpeekError
from ..schema import self_contained_schema
from ..settings import Settings
from ..tools import ANNOTATIONS, AppState, _result, _state, _tool, checked_or_refused, credentials_for
from .arguments import CancelTasksArguments, InspectBatchArguments, RetryBatchArguments
from .descriptions import CANCEL_TASKS_DESCRIPTION, INSPECT_BATCH_DESCRIPTION, RETRY_BATCH_DESCRIPTION
from .output import ActionResult, InspectBatchResult

CANCEL_ANNOTATIONS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
"""Canceled work does not resume: destructive. Not idempotent: a second cancel of a finished batch is refused."""
RETRY_ANNOTATIONS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
"""A retry adds a new run of the failed documents and removes nothing; each call starts another run."""
WRITE_TOOLS = ("cancel_tasks", "retry_batch")


def _confirmations(state: AppState) -> Any:
    from .confirm import ConfirmationBook

    if state.confirmations is None:
        state.confirmations = ConfirmationBook(state.clock)
    return state.confirmations


async def inspect_batch_tool(
    arguments: dict[str, Any], ctx: Context[Any, Any]
) -> Annotated[CallToolResult, InspectBatchResult]:
    state = _state(ctx)
    from .checks import check_inspect_batch
    from .inspect import inspect_batch  # on first use: start-up loads none of the batch machinery

    checked = checked_or_refused(check_inspect_batch, arguments)
    try:
        text, result = await inspect_batch(
            checked,
            batches=state.batches,
            tasks=state.client,
            credentials=credentials_for(ctx, state.settings),
            writes_enabled=state.settings.allow_writes,
        )
    except MixpeekError as error:
        raise ToolError(str(error)) from None
    return _result(text, result)


async def _write(tool: str, arguments: dict[str, Any], ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    state = _state(ctx)
    if not state.settings.allow_writes:  # pragma: no cover - the tools are not even listed then
        raise ToolError(f"{tool} is off: the operator has not turned writes on (MIXPEEK_ALLOW_WRITES).")
    from .actions import run_action
    from .checks import check_cancel_tasks, check_retry_batch

    checked: CancelTasksArguments | RetryBatchArguments = (
        checked_or_refused(check_cancel_tasks, arguments)
        if tool == "cancel_tasks"
        else checked_or_refused(check_retry_batch, arguments)
    )
    try:
        return await run_action(
            tool,
            checked,
            ctx=ctx,
            book=_confirmations(state),
            batches=state.batches,
            tasks=state.client,
            credentials=credentials_for(ctx, state.settings),
        )
    except MixpeekError as error:
        raise ToolError(f"{error} Mixpeek did not carry out {tool}, or said it could not.") from None


async def cancel_tasks_tool(
    arguments: dict[str, Any], ctx: Context[Any, Any]
) -> Annotated[CallToolResult, ActionResult]:
    return await _write("cancel_tasks", arguments, ctx)  # type: ignore[return-value]


async def retry_batch_tool(
    arguments: dict[str, Any], ctx: Context[Any, Any]
) -> Annotated[CallToolResult, ActionResult]:
    return await _write("retry_batch", arguments, ctx)  # type: ignore[return-value]


def batch_tools(settings: Settings) -> list[Tool]:
    """inspect_batch always; cancel_tasks and retry_batch only when writes are on."""
    tools = [
        _tool(
            inspect_batch_tool,
            name="inspect_batch",
            title="Inspect a Mixpeek batch",
            description=INSPECT_BATCH_DESCRIPTION,
            input_schema=self_contained_schema(InspectBatchArguments),
            output_model=InspectBatchResult,
            annotations=ANNOTATIONS,
        )
    ]
    if settings.allow_writes:
        tools += [
            _tool(
                cancel_tasks_tool,
                name="cancel_tasks",
                title="Cancel Mixpeek tasks or a batch",
                description=CANCEL_TASKS_DESCRIPTION,
                input_schema=self_contained_schema(CancelTasksArguments),
                output_model=ActionResult,
                annotations=CANCEL_ANNOTATIONS,
            ),
            _tool(
                retry_batch_tool,
                name="retry_batch",
                title="Retry a Mixpeek batch's failed documents",
                description=RETRY_BATCH_DESCRIPTION,
                input_schema=self_contained_schema(RetryBatchArguments),
                output_model=ActionResult,
                annotations=RETRY_ANNOTATIONS,
            ),
        ]
    return tools
