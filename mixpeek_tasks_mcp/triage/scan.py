"""Walk the matching tasks newest first, a page of 100 at a time, until all, max_tasks or the time budget.

The scan never claims more than it read: it stops with a reason, and an upstream error after some pages ends it
with what was read so far (an error on the first page is the caller's error to report).

The first page is interactive (someone is waiting for the answer); later pages are background requests of the
key's budget, paced across its window, so a scan bigger than the key allows never starves other sessions. When
the budget (not Mixpeek) is what runs the time out, the scan stops with ``request_budget`` and says the limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

import anyio

from ..budget import BudgetNote, Priority, current_context
from ..client import Credentials, MixpeekError, TasksClient
from ..clock import Clock
from ..enums import SortDirection
from ..models import ListTasksRequest, ListTasksResponse, SortOption, TaskSelection
from ..observability import hooks as observe
from .tally import Tally

PAGE_SIZE = 100
MAX_OFFSET = 10_000
"""The deepest offset the API serves; past it only its cursor goes on."""

StopReason = Literal["all", "max_tasks", "time_budget", "request_budget", "upstream_error"]
BUDGET_ERROR_TYPE = "request_budget"
"""The error_type of the client's 'not sent: the key's budget has no room before the deadline'."""
OnPage = Callable[[int, int | None], Awaitable[None]]
"""Called after each page with the tasks scanned so far and the matching total (when known)."""


@dataclass
class ScanOutcome:
    tally: Tally
    total: int | None
    stopped_because: StopReason
    pages: int
    error: str | None = None
    budget: str | None = None
    """The key's limit, when the request budget is what stopped the scan."""


async def scan(
    client: TasksClient,
    credentials: Credentials,
    selection: TaskSelection,
    *,
    max_tasks: int,
    budget: float,
    clock: Clock,
    on_page: OnPage | None = None,
) -> ScanOutcome:
    request = ListTasksRequest.model_validate(
        {
            **selection.api_keys(),  # batch_id as the API takes it: a condition in filters
            "sort": SortOption(field="created_at", direction=SortDirection.DESC),
        }
    )
    tally = Tally()
    deadline = clock.now() + budget
    cursor: str | None = None
    offset: int | None = None
    total: int | None = None
    pages = 0
    caller = current_context()
    note = caller.note or BudgetNote()
    first_page = replace(caller, priority=Priority.INTERACTIVE, note=note)
    later_pages = replace(caller, priority=Priority.BACKGROUND, note=note)
    while True:
        remaining = deadline - clock.now()
        if remaining <= 0:
            return ScanOutcome(tally, total, "time_budget", pages)
        limit = min(PAGE_SIZE, max_tasks - tally.scanned)
        response: ListTasksResponse | None = None
        context = first_page if pages == 0 else later_pages
        try:
            with observe.triage_page(pages + 1), anyio.move_on_after(remaining):
                response = await client.list_tasks(
                    request,
                    credentials=credentials,
                    limit=limit,
                    offset=offset,
                    cursor=cursor,
                    deadline=deadline,
                    context=context,
                )
        except MixpeekError as error:
            if pages == 0:
                raise
            if error.error_type == BUDGET_ERROR_TYPE:
                return _budget_stop(client, credentials, tally, total, pages)
            return ScanOutcome(tally, total, "upstream_error", pages, str(error))
        if response is None:
            if pages > 0 and note.waiting:  # still queued for the key's budget when the time ran out
                return _budget_stop(client, credentials, tally, total, pages)
            if pages == 0:
                raise MixpeekError(
                    f"The first page of tasks did not arrive within the time budget ({budget:g} s). Mixpeek may be "
                    "slow right now: call again with a larger timeout_seconds or a narrower selection."
                )
            return ScanOutcome(tally, total, "time_budget", pages)
        pages += 1
        if response.pagination.total is not None:
            total = response.pagination.total
        for task in response.results[:limit]:
            tally.add(task)
        if on_page is not None:
            await on_page(tally.scanned, total)
        returned = len(response.results)
        if total is not None and tally.scanned >= total:
            return ScanOutcome(tally, total, "all", pages)
        if tally.scanned >= max_tasks:
            return ScanOutcome(tally, total, "max_tasks", pages)
        cursor = response.pagination.next_cursor or None
        offset = None
        if cursor is None:
            more = returned >= limit and (total is None or tally.scanned < total)
            if not more or tally.scanned > MAX_OFFSET:  # max_tasks keeps a scan within the offset range
                return ScanOutcome(tally, total, "all", pages)
            offset = tally.scanned


def _budget_stop(
    client: TasksClient, credentials: Credentials, tally: Tally, total: int | None, pages: int
) -> ScanOutcome:
    limit = client.budget_for(credentials).limit_text()
    return ScanOutcome(tally, total, "request_budget", pages, budget=limit)
