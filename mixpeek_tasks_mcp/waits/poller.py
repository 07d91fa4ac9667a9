"""One poll loop for every wait in the process: shared polls, batched checks, one request budget.

Entries are keyed by (credentials identity, task id): two waits on one task share its polls, and tasks of two
different keys or namespaces are never checked in one request. Each entry keeps its own schedule (the backoff,
resumed across calls through BackoffMemory, or aimed at an estimated finish by estimate.py). The loop sleeps
until the earliest due entry, then checks everything due within ``COALESCE_WINDOW`` of it, per credentials
group, with one ``POST /v1/tasks/list`` filtered on ``task_id in [...]`` (up to 100 ids); a lone task, a task
missing from the answer (to tell a 404), and groups whose API refused that filter (remembered) get a GET.
Each group's check runs on its own: the loop does not wait for it, so a slow key (or a slow batch) delays only
its own tasks, never another group's next check.

Checks are background requests of their key's budget, dropped unsent once nobody watches (``budgeted.py``).

The loop is a task of the running event loop, started on first use; it ends when no entry is left. Entries
live only while a subscription watches them (subscription.py, a wait's side of all this): a finished, cancelled
or disconnected wait leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import anyio

from ..budget import RequestDropped
from ..client import Credentials, MixpeekError, TasksClient
from ..clock import Clock, wait_event
from ..models import ListTasksRequest
from ..observability import hooks as observe
from .budgeted import check_context
from .estimate import FinishEstimator
from .schedule import Backoff, BackoffMemory
from .shared_checks import SharedChecks, get_one
from .subscription import Observation, Subscription

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100
"""Most task ids in one list request (the API's largest page)."""
COALESCE_WINDOW = 1.0
"""Entries due within this many seconds of the earliest one are checked with it."""
ARRIVAL_GRACE = 0.05
"""A task no check has seen yet is first checked this long after its wait arrives (never past its deadline), so
waits that arrive together (a burst of sessions, an agent's parallel calls) share one request."""
FRESH_SECONDS = 1.0
"""A result this young answers a new subscriber at once instead of a new poll."""
REFUSED_FILTER_STATUSES = frozenset({400, 422})
MAX_GET_ONLY_GROUPS = 1024
"""Credentials groups remembered as refusing the task_id filter (oldest forgotten first)."""


def credentials_identity(credentials: Credentials) -> str:
    """Who a request is made as, without keeping the key itself as a table key."""
    return credentials.identity


@dataclass(eq=False)
class Entry:
    task_id: str
    credentials: Credentials
    attempt: int
    due: float
    estimator: FinishEstimator
    backoff_due: float = 0.0
    """When the plain backoff polls next: an estimate may bring ``due`` before it, never after it, and its own
    extra polls do not advance it (so the backoff's schedule is the same with or without estimates)."""
    watchers: set[Subscription] = field(default_factory=set)
    last: Observation | None = None
    in_flight: bool = False
    batch: list[Entry] | None = None  # the check under way and its cancel scope: cancelled once nobody waits
    check: anyio.CancelScope | None = None


@dataclass
class PollerStats:
    list_requests: int = 0
    get_requests: int = 0
    checks: int = 0
    batches: int = 0
    dropped: int = 0  # checks not sent: nobody watched their tasks any more when the budget allowed them


class Poller:
    """The shared poll loop (see the module docstring)."""

    def __init__(
        self,
        client: TasksClient,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
        memory: BackoffMemory | None = None,
        rng: Callable[[], float] = random.random,
        window: float = COALESCE_WINDOW,
    ) -> None:
        self.client = client
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.memory = memory or BackoffMemory(clock)
        self.rng = rng
        self.window = window
        self.stats = PollerStats()
        self.shared: SharedChecks | None = None  # other replicas' polls, when they share a Redis
        self._entries: dict[tuple[str, str], Entry] = {}
        self._get_only: OrderedDict[str, None] = OrderedDict()
        self._wake = anyio.Event()
        self._task: asyncio.Task[None] | None = None
        self._looping = False
        self._loops: set[asyncio.Task[None]] = set()
        """Loops still running: the current one, and any older one finishing the checks it started."""

    # -- what tests and the bench look at --------------------------------------------------------------
    @property
    def entry_count(self) -> int:
        return len(self._entries)

    def is_get_only(self, credentials: Credentials) -> bool:
        return credentials_identity(credentials) in self._get_only

    def poke(self, identity: str, task_id: str) -> None:  # another replica saw it change: its result is stored
        if (entry := self._entries.get((identity, task_id))) is not None and not entry.in_flight:
            entry.due = min(entry.due, self.clock.now())
            self._kick()

    # -- subscriptions ---------------------------------------------------------------------------------
    def subscribe(self, credentials: Credentials, task_ids: Iterable[str], deadline: float) -> Subscription:
        subscription = Subscription(self, credentials, deadline)
        subscription.follow(task_ids)
        return subscription

    def _attach(self, subscription: Subscription, task_id: str) -> None:
        key = (subscription.identity, task_id)
        now = self.clock.now()
        entry = self._entries.get(key)
        if entry is None:
            entry = Entry(
                task_id=task_id,
                credentials=subscription.credentials,
                attempt=self.memory.resume(task_id, identity=subscription.identity),
                due=now + ARRIVAL_GRACE,
                estimator=FinishEstimator(cap=self.backoff.cap),
            )
            self._entries[key] = entry
            self._reschedule_deadlines_of(entry, subscription, now)
        entry.watchers.add(subscription)
        last = entry.last
        if entry.in_flight:
            pass  # the check under way answers this subscriber too
        elif last is not None and last.task is not None and now - last.at <= FRESH_SECONDS:
            subscription.deliver(task_id, last)
            self._reschedule_deadlines(entry, now)
        elif last is not None:
            entry.due = min(entry.due, now)
        self._kick()

    def _detach(self, subscription: Subscription, task_id: str) -> None:
        key = (subscription.identity, task_id)
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.watchers.discard(subscription)
        if not entry.watchers:
            del self._entries[key]
            self._wake.set()
            if entry.in_flight and entry.check is not None and not any(e.watchers for e in entry.batch or ()):
                entry.check.cancel()  # nobody is left to hear its answer
            if entry.last is not None and entry.last.final:
                self.memory.forget(task_id, identity=subscription.identity)
            elif entry.last is not None:
                self.memory.remember(task_id, entry.attempt, identity=subscription.identity)

    @staticmethod
    def _reschedule_deadlines_of(entry: Entry, subscription: Subscription, now: float) -> None:
        """A wait whose deadline comes before the arrival grace (``timeout_seconds: 0``) is checked by then."""
        if subscription.deadline >= now:
            entry.due = min(entry.due, subscription.deadline)

    def _reschedule_deadlines(self, entry: Entry, after: float) -> None:
        """Every watcher gets a last check at its deadline (never a sleep past it)."""
        for watcher in entry.watchers:
            if watcher.deadline > after:
                entry.due = min(entry.due, watcher.deadline)

    # -- the loop --------------------------------------------------------------------------------------
    def _kick(self) -> None:
        self._wake.set()
        if not self._looping or self._task is None or self._task.done():
            self._looping = True  # set before the task runs, so two kicks start one loop
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mixpeek-poller")
            self._loops.add(self._task)
            self._task.add_done_callback(self._loops.discard)

    async def aclose(self) -> None:
        self._task, loops = None, [task for task in self._loops if not task.done()]
        for task in loops:
            task.cancel()
        if loops:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(*loops, return_exceptions=True)

    async def _run(self) -> None:
        try:
            async with anyio.create_task_group() as checks:
                while self._entries:
                    self._wake = anyio.Event()
                    wait = min(entry.due for entry in self._entries.values()) - self.clock.now()
                    if wait == math.inf:  # everything is being checked: a result (or a new wait) wakes us
                        await self._wake.wait()
                        continue
                    if wait > 0:
                        await wait_event(self._wake, self.clock, wait)
                        continue
                    for identity, entries in self._take_due():
                        checks.start_soon(self._check, identity, entries)
                # no awaits between the last look at the entries and this flag: a new wait starts a new loop
                self._looping = False
        except Exception:  # pragma: no cover - a bug here must not take the server down
            logger.exception("the shared poller stopped on an unexpected error; it restarts on the next wait")
        finally:
            if self._task is asyncio.current_task():
                self._looping = False

    def _take_due(self) -> list[tuple[str, list[Entry]]]:
        """Mark every entry due within the window of now as being checked; its batches, per credentials group."""
        now = self.clock.now()
        groups: dict[str, list[Entry]] = {}
        for entry in self._entries.values():
            if entry.due <= now + self.window and not entry.in_flight:
                entry.in_flight, entry.due = True, math.inf  # not due again until its result is in
                groups.setdefault(credentials_identity(entry.credentials), []).append(entry)
        return [
            (identity, entries[start : start + BATCH_LIMIT])
            for identity, entries in groups.items()
            for start in range(0, len(entries), BATCH_LIMIT)
        ]

    async def step(self) -> None:
        """Check everything due now and wait for it (tests, bench; the loop itself never waits for a check)."""
        async with anyio.create_task_group() as group:
            for identity, entries in self._take_due():
                group.start_soon(self._check, identity, entries)

    @observe.poller_batch
    async def _check(self, identity: str, entries: list[Entry]) -> None:
        with anyio.CancelScope() as scope:
            for entry in entries:
                entry.batch, entry.check = entries, scope
            await self._check_batch(identity, entries)

    async def _check_batch(self, identity: str, entries: list[Entry]) -> None:
        self.stats.batches += 1
        try:
            if len(entries) == 1 or identity in self._get_only:
                await self._get_each(entries)
            else:
                await self._list(identity, entries)
        except RequestDropped:  # every entry lost its watchers (and left the table) while it waited: none sent
            self.stats.dropped += 1
        except Exception as exc:  # an upstream surprise becomes an observation, never a dead poller
            logger.warning("poll check failed: %s", type(exc).__name__)
            failure = MixpeekError(f"Checking the task failed unexpectedly ({type(exc).__name__}); will retry.")
            for entry in entries:
                if entry.in_flight:
                    self._record(entry, Observation(None, failure, self.clock.now()))

    def _deadline(self, entries: list[Entry]) -> float | None:
        deadlines = [watcher.deadline for entry in entries for watcher in entry.watchers]
        return max(deadlines) if deadlines else None

    async def _get_each(self, entries: list[Entry]) -> None:
        async with anyio.create_task_group() as group:
            for entry in entries:
                group.start_soon(self._get, entry)

    async def _get(self, entry: Entry) -> None:
        try:
            task, sent = await get_one(self, entry, check_context([entry]))
        except RequestDropped:
            self.stats.dropped += 1
        except MixpeekError as error:
            self.stats.get_requests += 1
            self._record(entry, Observation(None, error, self.clock.now()))
        else:
            self.stats.get_requests += sent  # 0 when another replica's result answered
            self._record(entry, Observation(task, None, self.clock.now()))

    async def _list(self, identity: str, entries: list[Entry]) -> None:
        ids = [entry.task_id for entry in entries]
        request = ListTasksRequest.model_validate(
            {"filters": {"AND": [{"field": "task_id", "operator": "in", "value": ids}]}}
        )
        self.stats.list_requests += 1
        try:
            response = await self.client.list_tasks(
                request, credentials=entries[0].credentials, limit=len(ids), offset=0, context=check_context(entries)
            )
        except MixpeekError as error:
            if error.status in REFUSED_FILTER_STATUSES:
                logger.warning("Mixpeek refused list filtering on task_id (HTTP %s): polling with GETs", error.status)
                self._get_only[identity] = None
                while len(self._get_only) > MAX_GET_ONLY_GROUPS:
                    self._get_only.popitem(last=False)
                await self._get_each(entries)
                return
            for entry in entries:
                self._record(entry, Observation(None, error, self.clock.now()))
            return
        at = self.clock.now()
        found = {task.task_id: task for task in response.results}
        missing = [entry for entry in entries if entry.task_id not in found]
        for entry in entries:
            if entry.task_id in found:
                self._record(entry, Observation(found[entry.task_id], None, at))
        if missing:
            await self._get_each(missing)  # a GET tells a 404 from a filter quirk

    def _record(self, entry: Entry, observation: Observation) -> None:
        """Store a check's result, schedule the next one, and hand it to every watcher."""
        self.stats.checks += 1
        entry.in_flight = False
        entry.last = observation
        now = observation.at
        if observation.final:
            entry.due = math.inf
        else:
            if observation.task is not None:
                entry.estimator.observe(observation.task, now)
            if now >= entry.backoff_due - self.window:  # the backoff's own poll (or one coalesced with it)
                # from its own due time when checked early with others: the backoff's grid, with or without aims
                entry.backoff_due = max(now, entry.backoff_due) + self.backoff.delay(entry.attempt, self.rng)
                entry.attempt += 1
            # the estimate may bring the next poll earlier than the backoff's, never later
            backoff = entry.backoff_due - now
            entry.due = now + min(backoff, entry.estimator.next_delay(now, backoff))
            self._reschedule_deadlines(entry, now)
        for watcher in list(entry.watchers):
            watcher.deliver(entry.task_id, observation)
        self._wake.set()
