"""The MCP tools, wired: check the arguments, call the capability, return text and structured content.

The work itself lives in the capabilities (``summary``, ``triage``, ``waits``, ``batches``, whose tools
``batches.tools`` registers); no transport or process concerns here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Concatenate, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from .arguments import DEFAULT_TRIAGE_SECONDS, ListTasksArguments, TriageTasksArguments, WaitForTaskArguments
from .batches_client import BatchesClient
from .budget import BudgetNote, Priority, RequestContext, acting_as, owner_of
from .client import Credentials, MixpeekError, TasksClient
from .clock import Clock, SystemClock
from .descriptions import LIST_TASKS_DESCRIPTION, TRIAGE_TASKS_DESCRIPTION, WAIT_FOR_TASK_DESCRIPTION
from .output import ListTasksResult, TriageResult, WaitResult
from .schema import self_contained_schema
from .schema_profiles import SchemaProfile, for_profile
from .settings import Settings
from .summary import list_result
from .tenancy import TRIAGES, WAITS, CapReached, KeyCaps, PerKey
from .triage.stuck import ProgressMemory
from .validation import InvalidArguments, check_list_tasks, check_triage_tasks, check_wait_for_task
from .waits.poller import Poller
from .waits.schedule import Backoff, BackoffMemory

if TYPE_CHECKING:
    from .batches.confirm import ConfirmationBook

logger = logging.getLogger(__name__)

PASSTHROUGH_KEY_HEADER = "x-mixpeek-api-key"
PASSTHROUGH_NAMESPACE_HEADER = "x-mixpeek-namespace"

Options = ParamSpec("Options")
Checked = TypeVar("Checked")


@dataclass
class AppState:
    """What the tools share for the server's life: settings, one API client, the clock."""

    settings: Settings
    client: TasksClient
    clock: Clock = field(default_factory=SystemClock)
    backoff: Backoff = field(default_factory=Backoff)
    memory: BackoffMemory = field(init=False)
    progress: PerKey[ProgressMemory] = field(default_factory=lambda: PerKey(ProgressMemory))
    """Active tasks' last seen status and tier, per key, so a later triage can tell which made no progress."""
    poller: Poller = field(init=False)
    batches: BatchesClient = field(init=False)
    """The batch endpoints, through the same client (pool, budget, retries)."""
    confirmations: ConfirmationBook | None = None
    """Pending confirmations of the write tools, made on their first use (batches/confirm.py)."""
    caps: KeyCaps = field(init=False)
    """What each key holds at once (waits, triages, listen streams, subscriptions), against its caps."""

    def __post_init__(self) -> None:
        self.batches = BatchesClient(self.client)
        self.caps = KeyCaps(self.settings)
        self.memory = BackoffMemory(self.clock)
        self.poller = Poller(self.client, self.clock, backoff=self.backoff, memory=self.memory)


class RawArguments(ArgModelBase):
    """Accepts any arguments and hands them over untouched, so our own validation can name every problem."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def credentials_for(ctx: Context[Any, Any], settings: Settings) -> Credentials:
    """The server's key and namespace, or the HTTP client's own when passthrough is enabled."""
    namespace = settings.namespace
    key = settings.api_key.get_secret_value() if settings.api_key else None
    headers: Mapping[str, str] | None = ctx.headers if settings.allow_key_passthrough else None
    if headers:
        client_key = headers.get(PASSTHROUGH_KEY_HEADER)
        if client_key:
            return Credentials(
                client_key.strip(),
                headers.get(PASSTHROUGH_NAMESPACE_HEADER) or namespace,
                key_source="the X-Mixpeek-Api-Key header",
            )
    return Credentials(key, namespace)


def _state(ctx: Context[Any, Any]) -> AppState:
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):  # pragma: no cover - wiring error
        raise RuntimeError("server lifespan did not provide AppState")
    return state


def checked_or_refused(
    check: Callable[Concatenate[dict[str, Any], Options], Checked],
    arguments: dict[str, Any],
    *args: Options.args,
    **options: Options.kwargs,
) -> Checked:
    """A tool's arguments through its check (``validation``, ``batches.checks``), or the refusal as the tool's
    error, naming every problem: every tool refuses bad input the same way, before anything is sent."""
    try:
        return check(arguments, *args, **options)
    except InvalidArguments as refusal:
        raise ToolError(refusal.render()) from None


def caller_context(ctx: Context[Any, Any], priority: Priority) -> RequestContext:
    """The call as the key's budget sees it: its priority, its session (a fingerprint) and a note of waits."""
    request = ctx.request_context
    session = getattr(request, "session_id", None) or f"connection-{id(getattr(request, 'connection', request))}"
    return RequestContext(priority=priority, owner=owner_of(session), note=BudgetNote())


def _with_note(text: str, context: RequestContext) -> str:
    """The answer, with one line when the budget slowed it."""
    line = context.note.line() if context.note is not None else None
    return f"{text}\n{line}" if line else text


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured.model_dump(mode="json", exclude_none=True),
    )


async def list_tasks(arguments: dict[str, Any], ctx: Context[Any, Any]) -> Annotated[CallToolResult, ListTasksResult]:
    state = _state(ctx)
    checked = checked_or_refused(check_list_tasks, arguments)
    context = caller_context(ctx, Priority.INTERACTIVE)
    try:
        with acting_as(context):
            response = await state.client.list_tasks(
                checked.api_request(),
                credentials=credentials_for(ctx, state.settings),
                limit=checked.limit,
                offset=checked.offset,
                cursor=checked.cursor,
            )
    except MixpeekError as error:
        raise ToolError(str(error)) from None
    text, structured = list_result(checked, response)
    return _result(_with_note(text, context), structured)


async def wait_for_task_tool(
    arguments: dict[str, Any], ctx: Context[Any, Any]
) -> Annotated[CallToolResult, WaitResult]:
    state = _state(ctx)
    settings = state.settings
    checked = checked_or_refused(
        check_wait_for_task,
        arguments,
        default_timeout=settings.wait_default_seconds,
        max_timeout=settings.wait_max_seconds,
    )
    from .waits.answer import Progress, answer_wait  # on first use, like triage: start-up loads neither

    progress = Progress(ctx.report_progress, checked.timeout_seconds)
    context = caller_context(ctx, Priority.BACKGROUND)  # its polls can be late; a person's list cannot
    credentials = credentials_for(ctx, settings)
    try:
        with acting_as(context), state.caps.hold(WAITS, credentials):
            text, result = await answer_wait(
                checked,
                poller=state.poller,
                client=state.client,
                credentials=credentials,
                progress=progress,
                default_timeout=settings.wait_default_seconds,
            )
    except (MixpeekError, CapReached) as error:
        raise ToolError(str(error)) from None
    return _result(_with_note(text, context), result)


async def triage_tasks_tool(
    arguments: dict[str, Any], ctx: Context[Any, Any]
) -> Annotated[CallToolResult, TriageResult]:
    state = _state(ctx)
    checked = checked_or_refused(check_triage_tasks, arguments, max_timeout=state.settings.wait_max_seconds)
    limit = checked.max_tasks

    async def report(scanned: int, total: int | None) -> None:
        goal = min(total, limit) if total is not None else limit
        of = f"{total:,} matching" if total is not None else "an unknown number of"
        await ctx.report_progress(scanned, total=max(goal, scanned), message=f"scanned {scanned:,} of {of} tasks")

    from .triage.run import run_triage  # on first use: the server starts without the triage machinery

    context = caller_context(ctx, Priority.INTERACTIVE)  # the first page; the scan makes later pages background
    credentials = credentials_for(ctx, state.settings)
    try:
        with acting_as(context), state.caps.hold(TRIAGES, credentials):
            text, result = await run_triage(
                checked,
                client=state.client,
                credentials=credentials,
                clock=state.clock,
                memory=state.progress.of(credentials),
                max_timeout=state.settings.wait_max_seconds,
                on_page=report,
            )
    except (MixpeekError, CapReached) as error:
        raise ToolError(str(error)) from None
    return _result(_with_note(text, context), result)


ANNOTATIONS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True, destructive_hint=False)


def _tool(
    fn: Callable[..., Awaitable[CallToolResult]],
    *,
    name: str,
    title: str,
    description: str,
    input_schema: dict[str, Any],
    output_model: type[BaseModel],
    annotations: ToolAnnotations = ANNOTATIONS,
) -> Tool:
    """A Tool whose advertised schemas are our self-contained ones and whose arguments reach us raw."""
    output_schema = self_contained_schema(output_model, mode="serialization")
    metadata = FuncMetadata(arg_model=RawArguments, output_schema=output_schema, output_model=output_model)
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=input_schema,
        fn_metadata=metadata,
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations.model_copy(update={"title": title}),
    )


def _with_budget(schema: dict[str, Any], *, default: float, largest: float) -> dict[str, Any]:
    """The schema with this server's default and largest ``timeout_seconds``."""
    budget = schema["properties"]["timeout_seconds"]
    budget["default"] = min(default, largest)
    budget["maximum"] = largest
    return schema


def wait_input_schema(settings: Settings) -> dict[str, Any]:
    return _with_budget(
        self_contained_schema(WaitForTaskArguments),
        default=settings.wait_default_seconds,
        largest=settings.wait_max_seconds,
    )


def triage_input_schema(settings: Settings) -> dict[str, Any]:
    """Triage keeps its own default budget (30 s), under the same cap as waits."""
    return _with_budget(
        self_contained_schema(TriageTasksArguments),
        default=DEFAULT_TRIAGE_SECONDS,
        largest=settings.wait_max_seconds,
    )


def with_schema_profile(tools: list[Tool], profile: SchemaProfile) -> list[Tool]:
    """The tools with their input schemas in ``profile`` (``MIXPEEK_SCHEMA_PROFILE``); every tool passes here."""
    if profile == "default":
        return tools
    return [tool.model_copy(update={"parameters": for_profile(tool.parameters, profile)}) for tool in tools]


def build_tools(settings: Settings) -> list[Tool]:
    return with_schema_profile(_tools(settings), settings.schema_profile)


def _tools(settings: Settings) -> list[Tool]:
    from .batches.tools import batch_tools  # it imports this module's helpers

    return [
        _tool(
            list_tasks,
            name="list_tasks",
            title="List Mixpeek tasks",
            description=LIST_TASKS_DESCRIPTION,
            input_schema=self_contained_schema(ListTasksArguments),
            output_model=ListTasksResult,
        ),
        _tool(
            triage_tasks_tool,
            name="triage_tasks",
            title="Triage Mixpeek task failures",
            description=TRIAGE_TASKS_DESCRIPTION,
            input_schema=triage_input_schema(settings),
            output_model=TriageResult,
        ),
        _tool(
            wait_for_task_tool,
            name="wait_for_task",
            title="Wait for a Mixpeek task",
            description=WAIT_FOR_TASK_DESCRIPTION,
            input_schema=wait_input_schema(settings),
            output_model=WaitResult,
        ),
        *batch_tools(settings),
    ]
