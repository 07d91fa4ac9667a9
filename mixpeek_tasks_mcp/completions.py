"""Argument completions (``completion/complete``) for the prompts and the task resource template.

Statuses, task types and ``since`` suggestions are fixed lists. Task, batch and bucket ids come from one
``POST /v1/tasks/list`` of the newest ``RECENT_TASKS`` tasks per caller (credentials), cached for
``CACHE_SECONDS``. Completion never fails the request: if Mixpeek is slow, down or refuses, the answer is
the values at hand (possibly none).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from .budget import Priority, RequestContext, acting_as
from .client import Credentials, TasksClient
from .enums import SortDirection, TaskStatus, TaskType
from .models import ListTasksRequest, SortOption
from .request_scope import app_state, current_request, request_credentials
from .resources import TASK_TEMPLATE

logger = logging.getLogger(__name__)

MAX_VALUES: Final = 100
"""Most values in one answer (the protocol's limit)."""
RECENT_TASKS: Final = 100
"""Tasks listed (newest first) to find recent ids: one request, one page."""
CACHE_SECONDS: Final = 60.0
"""How long one caller's recent ids are reused."""
FAILED_CACHE_SECONDS: Final = 10.0
"""How long a failed look-up is remembered (so a down API is not asked on every keystroke)."""
API_SECONDS: Final = 3.0
"""The longest a completion waits for Mixpeek."""
MAX_CACHED_CALLERS: Final = 64
MAX_VALUE_CHARS: Final = 200

NEWEST_FIRST: Final = ListTasksRequest(sort=SortOption(field="created_at", direction=SortDirection.DESC))
SINCE_SUGGESTIONS: Final = ("1h", "6h", "12h", "24h", "today", "yesterday", "7d")
STATUS_VALUES: Final = tuple(status.value for status in TaskStatus)
TASK_TYPE_VALUES: Final = tuple(task_type.value for task_type in TaskType)


@dataclass
class RecentIds:
    task_ids: list[str] = field(default_factory=list)
    failed_task_ids: list[str] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    bucket_ids: list[str] = field(default_factory=list)


def _unique(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value.strip() and len(value) <= MAX_VALUE_CHARS and value.isprintable():
            seen.setdefault(value.strip(), None)
    return list(seen)


class RecentIdCache:
    """Recent ids per caller, fetched at most once per CACHE_SECONDS (FAILED_CACHE_SECONDS after a failure)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, RecentIds]] = OrderedDict()
        self._lock = anyio.Lock()

    async def get(self, client: TasksClient, credentials: Credentials) -> RecentIds:
        raw = f"{credentials.api_key or ''}\0{credentials.namespace or ''}".encode()
        key = hashlib.sha256(raw).hexdigest()[:32]
        async with self._lock:  # one look-up at a time: keystrokes arrive in bursts
            cached = self._entries.get(key)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            recent, ok = await self._fetch(client, credentials)
            self._entries[key] = (time.monotonic() + (CACHE_SECONDS if ok else FAILED_CACHE_SECONDS), recent)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_CACHED_CALLERS:
                self._entries.popitem(last=False)
            return recent

    async def _fetch(self, client: TasksClient, credentials: Credentials) -> tuple[RecentIds, bool]:
        if not credentials.api_key:
            return RecentIds(), False
        response = None
        try:
            # background: a keystroke's suggestions can wait for (or miss) the budget, a person's list cannot
            with anyio.move_on_after(API_SECONDS), acting_as(RequestContext(priority=Priority.BACKGROUND)):
                response = await client.list_tasks(NEWEST_FIRST, credentials=credentials, limit=RECENT_TASKS, offset=0)
        except Exception as error:  # completion must never fail the request
            logger.info("completion look-up failed: %s", type(error).__name__)
            return RecentIds(), False
        if response is None:
            return RecentIds(), False
        tasks = response.results
        data = [task.additional_data or {} for task in tasks]
        return (
            RecentIds(
                task_ids=_unique(task.task_id for task in tasks),
                failed_task_ids=_unique(task.task_id for task in tasks if task.status != "COMPLETED"),
                batch_ids=_unique(item.get("batch_id") for item in data),
                bucket_ids=_unique(item.get("bucket_id") for item in data),
            ),
            True,
        )


def matching(candidates: Iterable[str], typed: str) -> Completion:
    """The candidates starting with what was typed (case-insensitive), then those containing it."""
    typed = typed.strip().lower()
    pool = list(dict.fromkeys(candidates))
    starts = [value for value in pool if value.lower().startswith(typed)]
    contains = [value for value in pool if typed and typed in value.lower() and value not in starts]
    found = starts + contains
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


STATIC: Final[dict[str, tuple[str, ...]]] = {
    "status": STATUS_VALUES,
    "task_type": TASK_TYPE_VALUES,
    "since": SINCE_SUGGESTIONS,
}
PROMPT_ARGUMENTS: Final = {
    ("triage", "task_type"),
    ("triage", "status"),
    ("triage", "since"),
    ("triage", "bucket"),
    ("watch", "batch_id"),
    ("watch", "task_ids"),
    ("explain_task", "task_id"),
}


def _dynamic(name: str, recent: RecentIds) -> list[str]:
    if name == "bucket":
        return recent.bucket_ids
    if name == "batch_id":
        return recent.batch_ids
    if name == "task_ids":
        return recent.task_ids
    return recent.failed_task_ids + recent.task_ids  # task_id: the ones worth explaining first


async def complete(
    ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, cache: RecentIdCache
) -> Completion | None:
    if isinstance(ref, PromptReference):
        if (ref.name, argument.name) not in PROMPT_ARGUMENTS:
            return None
    elif not (ref.uri == TASK_TEMPLATE and argument.name == "task_id"):
        return None
    if argument.name in STATIC:
        return matching(STATIC[argument.name], argument.value)
    request = current_request()
    state = app_state(request)
    recent = await cache.get(state.client, request_credentials(request, state))
    typed = argument.value
    if argument.name == "task_ids" and "," in typed:  # complete the id being typed, keep the ones before it
        done, _, typed = typed.rpartition(",")
        found = matching(_dynamic(argument.name, recent), typed)
        return Completion(values=[f"{done}, {value}" for value in found.values], total=found.total)
    return matching(_dynamic(argument.name, recent), typed)


def register_completions(server: MCPServer[Any]) -> None:
    cache = RecentIdCache()

    @server.completion()  # type: ignore[untyped-decorator, no-untyped-call]  # the SDK leaves it untyped
    async def handle(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        try:
            return await complete(ref, argument, cache)
        except Exception as error:  # never fail the request
            logger.info("completion failed: %s", type(error).__name__)
            return Completion(values=[])
