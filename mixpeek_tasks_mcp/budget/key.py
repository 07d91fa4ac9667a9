"""One API key's request budget: how many requests it may send in any window, learned from Mixpeek.

Mixpeek counts requests per key in a moving window (X-RateLimit-Limit per X-RateLimit-Window seconds). The
budget keeps a log of its own grants and allows a request when fewer than the limit fall within the window
(plus ``LATENCY_MARGIN``: a grant is stamped before it is sent, the API counts it on arrival). Every response's
headers rebase the log on what the API says it counted (another process on the same key uses it up; a request
the API never saw frees a slot), and ``Retry-After`` pauses the key, only this key.

Where the limit comes from (``source``):
- ``start``: before the key's first answer, this server's conservative 10/min with bursts of 5;
- ``headers``: what Mixpeek advertises, under MIXPEEK_MAX_REQUESTS_PER_MINUTE when that is set;
- ``adaptive``: the API sent no headers: AIMD from 429s alone (adaptive.py);
- ``none``: MIXPEEK_MAX_REQUESTS_PER_MINUTE=0 and no headers yet: only Retry-After rules.

Background requests are paced one per ``window / limit`` and leave the last ``limit // 10`` slots of the
window to interactive ones, so a scan that needs more than the key allows never drains the window in a burst
and a person's ``list_tasks`` finds a slot at once, or after about one token's interval.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Protocol

import anyio
import anyio.lowlevel

from ..clock import Clock, wait_event
from .adaptive import AimdLimit
from .context import Priority, RequestContext
from .hooks import BudgetHooks
from .learned import RateLimitAdvice
from .scheduler import TurnQueue

LATENCY_MARGIN = 1.0
"""Seconds added to the window before a grant leaves the log: requests are stamped when granted, counted by
the API when they arrive, and one that waited longer on the way must not make the next one 'too early'."""
INTERACTIVE_RESERVE = 10
"""Background requests leave the last 1/INTERACTIVE_RESERVE of the window's slots to interactive ones."""
RECHECK_SECONDS = 1.0
"""A queued request asks again this often whether it is still wanted (its wait may have ended meanwhile)."""
DEFAULT_429_PAUSE = 1.0
"""A 429 without Retry-After pauses the key this long."""
MAX_LOG = 20_000
"""Most grants remembered (a limit above it is not worth counting exactly)."""


class SharedLimiter(Protocol):
    """The seam for counting one key's requests across replicas (issue 19: Redis). ``admit`` is asked once the
    local budget would grant: 0 means send now (and it is counted), else the seconds until this replica may."""

    async def admit(self, fingerprint: str, *, limit: float, window: float) -> float: ...


@dataclass(frozen=True)
class BudgetPolicy:
    """What the operator set. ``ceiling_per_minute``: None (default) = the API's word, starting at
    ``start_per_minute``; N = never more than N/min whatever the API says; 0 = no estimate of this server's own."""

    ceiling_per_minute: float | None = None
    start_per_minute: float = 10.0
    burst: int = 5

    @property
    def own_estimate(self) -> bool:
        return self.ceiling_per_minute != 0

    def per_window(self, window: float) -> float | None:
        if not self.ceiling_per_minute:
            return None
        return self.ceiling_per_minute * window / 60.0


class BudgetTimeout(Exception):
    """No grant could come before the caller's deadline."""

    def __init__(self, ready_in: float, limit_text: str, paused: bool) -> None:
        super().__init__(limit_text)
        self.ready_in = ready_in
        self.limit_text = limit_text
        self.paused = paused


class RequestDropped(Exception):
    """The request's caller stopped wanting it while it waited: nothing was sent."""


def per_minute_text(limit: float, window: float) -> str:
    per_minute = limit * 60.0 / window
    return f"{per_minute:.0f}/min" if per_minute >= 10 or per_minute.is_integer() else f"{per_minute:.1f}/min"


class KeyBudget:
    """The budget of one key (see the module docstring); callers ``acquire`` before and ``finished`` after."""

    def __init__(
        self,
        fingerprint: str,
        policy: BudgetPolicy,
        clock: Clock,
        *,
        hooks: BudgetHooks,
        shared: SharedLimiter | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        self.policy = policy
        self._clock = clock
        self._hooks = hooks
        self._shared = shared
        self.window = 60.0
        self.limit: float | None = None
        self.source = "none"
        self._capped = False
        self._aimd: AimdLimit | None = None
        if policy.own_estimate:
            ceiling = policy.per_window(self.window)
            self.limit = min(policy.start_per_minute, ceiling) if ceiling else policy.start_per_minute
            self.source = "start"
        self._log: list[float] = []
        self._tokens = float(policy.burst)
        self._tokens_at = clock.now()
        self._paused_until = -math.inf
        self._last_background = -math.inf
        self._queue = TurnQueue()
        self._changed = anyio.Event()
        self.in_flight = 0
        self.last_used = clock.now()
        self.granted = 0
        self.waits = 0
        self.waited_seconds = 0.0
        self.longest_wait = {Priority.INTERACTIVE: 0.0, Priority.BACKGROUND: 0.0}
        self.throttled = 0
        self.dropped = 0

    # -- what callers and answers read ----------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Requests waiting for their turn right now."""
        return len(self._queue)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and len(self._queue) == 0

    @property
    def interval(self) -> float:
        """One token's interval: the spacing of background requests, so that they alone never fill the
        window as the log counts it (the window plus the latency margin)."""
        return (self.window + LATENCY_MARGIN) / self.limit if self.limit else 0.0

    @property
    def per_minute(self) -> float | None:
        return self.limit * 60.0 / self.window if self.limit else None

    def limit_text(self) -> str:
        """'600/min for this key, learned from Mixpeek' (never the key itself)."""
        if self.limit is None:
            return "no limit of this server's own (MIXPEEK_MAX_REQUESTS_PER_MINUTE=0); Mixpeek's 429s rule"
        rate = per_minute_text(self.limit, self.window)
        if self.source == "headers":
            capped = ", capped by MIXPEEK_MAX_REQUESTS_PER_MINUTE" if self._capped else ""
            return f"{rate} for this key, learned from Mixpeek{capped}"
        if self.source == "adaptive":
            return f"{rate} for this key, adapted from Mixpeek's 429s (it sent no rate-limit headers)"
        return f"{rate}, this server's starting budget until Mixpeek's first answer"

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock.now())

    # -- when a request could go ----------------------------------------------------------------------------
    @property
    def _bucket(self) -> bool:
        """Bursts are bounded by a token bucket until the API says how much it allows."""
        return self.source in ("start", "adaptive")

    def _trim(self, now: float) -> None:
        expired = bisect.bisect_right(self._log, now - self.window - LATENCY_MARGIN)
        if expired:
            del self._log[:expired]

    def _refill(self, now: float) -> None:
        if self.limit:
            rate = self.limit / self.window
            self._tokens = min(float(self.policy.burst), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now

    def _cap(self, priority: Priority) -> int:
        cap = max(1, math.floor(self.limit or 1))
        if priority is Priority.BACKGROUND:
            cap = max(1, cap - cap // INTERACTIVE_RESERVE)
        return cap

    def ready_at(self, priority: Priority, now: float | None = None) -> float:
        """The earliest time a request of ``priority`` could go, ignoring who is ahead of it in the queue."""
        now = self._clock.now() if now is None else now
        at = max(now, self._paused_until)
        if self.limit is None:
            return at
        if priority is Priority.BACKGROUND:
            at = max(at, self._last_background + self.interval)
        self._trim(now)
        cap = self._cap(priority)
        if len(self._log) >= cap:
            at = max(at, self._log[len(self._log) - cap] + self.window + LATENCY_MARGIN)
        if self._bucket:
            self._refill(now)
            if self._tokens < 1:
                at = max(at, now + (1 - self._tokens) * self.window / self.limit)
        return at

    # -- taking a grant -------------------------------------------------------------------------------------
    def _signal(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _grant(self, priority: Priority, now: float) -> None:
        self._log.append(now)
        if len(self._log) > MAX_LOG:
            del self._log[: len(self._log) - MAX_LOG]
        if self._bucket:
            self._tokens -= 1
        if priority is Priority.BACKGROUND:
            self._last_background = now
        self.granted += 1
        self.in_flight += 1
        self.last_used = now

    async def acquire(self, context: RequestContext, deadline: float | None) -> float:
        """Wait for this request's turn and grant; the seconds waited. Raises BudgetTimeout when no grant can
        come by ``deadline``, RequestDropped when the caller stopped wanting it (nothing is sent either way)."""
        clock, priority = self._clock, context.priority
        start = clock.now()
        if not context.still_wanted():
            self.dropped += 1
            raise RequestDropped
        waiter = self._queue.add(priority, context.owner)
        note = context.note
        if note is not None:
            note.waiting = True
        slept = False
        try:
            while True:
                now = clock.now()
                changed = self._changed
                at = self.ready_at(priority, now)
                head = self._queue.head() is waiter
                if head and at <= now:
                    extra = await self._admit_shared()
                    if extra <= 0:
                        waited = now - start if slept else 0.0  # granted at once: no wait, not even microseconds
                        self._grant(priority, now)
                        self._queue.served(waiter)
                        self._record_wait(context, waited)
                        return waited
                    at = now + extra
                if deadline is not None and (at > deadline or now >= deadline):
                    raise BudgetTimeout(max(at - now, 0.0), self.limit_text(), self._paused_until > now)
                # the head sleeps until its time; the others until the queue changes (or a recheck)
                wake = min(at if head else math.inf, now + RECHECK_SECONDS)
                if deadline is not None:
                    wake = min(wake, deadline)
                await wait_event(changed, clock, max(wake - now, 0.0))
                await anyio.lowlevel.checkpoint()
                slept = True
                if not context.still_wanted():
                    self.dropped += 1
                    raise RequestDropped
        finally:
            self._queue.remove(waiter)
            if note is not None:
                note.waiting = False
            self._signal()

    async def _admit_shared(self) -> float:
        if self._shared is None or self.limit is None:
            return 0.0
        return await self._shared.admit(self.fingerprint, limit=self.limit, window=self.window)

    def _record_wait(self, context: RequestContext, waited: float) -> None:
        if waited <= 0:
            return
        self.waits += 1
        self.waited_seconds += waited
        priority = context.priority
        self.longest_wait[priority] = max(self.longest_wait[priority], waited)
        if context.note is not None:
            context.note.add(waited, self.limit_text())
        self._hooks.waited(self.fingerprint, priority, waited)

    # -- what the answer said -------------------------------------------------------------------------------
    def finished(
        self, *, status: int | None, advice: RateLimitAdvice | None = None, retry_after: float | None = None
    ) -> None:
        """A granted request ended: its status (None: no answer), its rate-limit headers and Retry-After."""
        now = self._clock.now()
        self.in_flight = max(0, self.in_flight - 1)
        self.last_used = now
        if advice is not None and not advice.empty:
            self._learn(advice, now)
        elif status is not None and self.source == "start":
            self._aimd = AimdLimit(self.limit or self.policy.start_per_minute, ceiling=self.policy.per_window(60))
            self.source = "adaptive"
        if self._aimd is not None and status is not None and status < 400:
            self._aimd.on_success()
            self.limit = self._aimd.limit
        if status == 429:
            self.throttled += 1
            pause = retry_after if retry_after is not None else DEFAULT_429_PAUSE
            self._paused_until = max(self._paused_until, now + pause)
            if self._aimd is not None:
                self._aimd.on_throttle(now, self.window)
                self.limit = self._aimd.limit
            self._hooks.throttled(self.fingerprint)
        self._signal()

    def _learn(self, advice: RateLimitAdvice, now: float) -> None:
        window = advice.window or self.window
        if advice.limit is None:  # Remaining/Reset without a limit: believe a zero, nothing more
            if advice.remaining == 0 and advice.reset_in is not None:
                self._paused_until = max(self._paused_until, now + advice.reset_in + LATENCY_MARGIN)
            return
        limit, ceiling = float(advice.limit), self.policy.per_window(window)
        capped = ceiling is not None and ceiling < limit
        if capped and ceiling is not None:
            limit = ceiling
        learned = (limit, window, "headers") != (self.limit, self.window, self.source)
        self.limit, self.window, self.source, self._capped, self._aimd = limit, window, "headers", capped, None
        if learned:
            self._hooks.learned(self.fingerprint, limit * 60.0 / window, self.source)
        if advice.remaining is not None:
            self._rebase(advice.remaining, advice.reset_in, now)

    def _rebase(self, remaining: int, reset_in: float | None, now: float) -> None:
        """Make the log leave the room the API says is left (less what is still on its way): the API's word
        wins. Under a ceiling lower than the API's limit, the API can only take room away (another process
        on the key used it), never add room beyond the ceiling."""
        self._trim(now)
        cap = self._cap(Priority.INTERACTIVE)
        target = min(max(0, cap - max(0, remaining - self.in_flight)), MAX_LOG)
        if self._capped:
            target = max(target, len(self._log))
        if len(self._log) > target:
            del self._log[: len(self._log) - target]
            return
        missing = target - len(self._log)
        if missing <= 0:
            return
        first = now + (reset_in if reset_in is not None else self.window) - self.window
        first = min(first, now)
        step = (now - first) / missing
        for index in range(missing):  # the oldest leaves at the API's reset, the rest spread up to now
            bisect.insort(self._log, first + index * step)
