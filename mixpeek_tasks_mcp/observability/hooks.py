"""The seams other modules call, with nothing behind them until ``install`` puts a recorder in place.

Off (the default) every hook is a call into a no-op ``Recorder`` and every decorator a pass-through, so the
server imports nothing of OpenTelemetry's SDK or prometheus-client at start-up (bench/coldstart.py). Where each
must be called (the coordinator wires the same calls into rewritten modules):

- ``mixpeek_request``: decorates ``TasksClient._request(self, method, path, credentials, ...)``, one logical
  Mixpeek call with its retries: an HTTP span (method, route template, status, retries, budget wait) and the
  request counters.
- ``mixpeek_attempt``: decorates ``TasksClient._send(...)``, one HTTP attempt: its status (or ``network_error``,
  ``timeout``, ``too_large``) feeds the attempt counter, the 429 counter and the retry count.
- ``budget_wait(key_label, seconds)``: each time a request sleeps for the request budget.
- ``learned_limit(key_label, per_minute)``: whenever a key's budget (configured or learned from
  ``X-RateLimit-*`` headers) is set or changes.
- ``poller_batch``: decorates ``Poller._check(self, identity, entries)``: a root span per batch, batches,
  tasks checked and requests made (checks per request = coalescing); the poller's ``entry_count`` is read at
  scrape time.
- ``trace_link()``: in ``Subscription.__init__`` (``self.trace_link = observe.trace_link()``); a batch span
  links to the spans of the waits its entries' watchers belong to.
- ``triage_page(number)``: a context manager around the request of one triage page (a span per page).
- ``task_watch_started()`` / ``task_watch_ended()``: a resource subscription's watch of one task.
- ``listen_stream_opened()`` / ``listen_stream_closed()``: a ``subscriptions/listen`` stream.
- ``redis_state(up)`` / ``redis_error(operation)``: the shared-state backend, when one is configured.

Key labels come from ``labels.key_label``; pass ``ALL_KEYS`` for a budget shared by every key.

A fault in the recorder never reaches the caller: each hook runs the decorated call exactly once, and whatever
the recorder raises is logged (once per kind a minute) and dropped, so a metrics bug cannot stop the poller.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")

logger = logging.getLogger(__name__)

ALL_KEYS: Final = "all"
"""The key label of a budget shared by every key (none since issue 16: each key has its own, see budget/)."""
WARN_EVERY_SECONDS: Final = 60.0
_warned: dict[str, float] = {}


def _safely(hook: Callable[..., T], *args: Any) -> T | None:
    """``hook(*args)``, or None (logged, rate-limited) if the recorder raised."""
    try:
        return hook(*args)
    except Exception as error:
        kind = f"{getattr(hook, '__name__', 'hook')}: {type(error).__name__}"
        now = time.monotonic()
        if now - _warned.get(kind, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            _warned[kind] = now
            logger.warning("observability hook failed (%s); the call goes on unobserved", kind, exc_info=True)
        return None


class Recorder:
    """Does nothing: what every hook calls while observability is off. ``recorder.LiveRecorder`` overrides it.

    The ``*_begin`` methods return a state the matching ``*_end`` gets back (None if begin failed)."""

    active = False

    def request_begin(self, method: str, path: str) -> Any:
        return None

    def request_end(self, state: Any, error: BaseException | None) -> None:
        pass

    def attempt_begin(self) -> Any:
        return None

    def attempt_end(self, state: Any, answer: Any, error: BaseException | None) -> None:
        pass

    def batch_begin(self, poller: object, tasks: int, links: Iterable[object]) -> Any:
        return None

    def batch_end(self, state: Any, error: BaseException | None) -> None:
        pass

    def page_begin(self, number: int) -> Any:
        return None

    def page_end(self, state: Any, error: BaseException | None) -> None:
        pass

    def budget_wait(self, key_label: str, seconds: float) -> None:
        pass

    def learned_limit(self, key_label: str, per_minute: float) -> None:
        pass

    def gauge_step(self, name: str, step: int) -> None:
        pass

    def redis_state(self, up: bool) -> None:
        pass

    def redis_error(self, operation: str) -> None:
        pass

    def flush(self, timeout_seconds: float) -> None:
        pass

    def trace_link(self) -> object | None:
        return None


_recorder: Recorder = Recorder()


def install(recorder: Recorder) -> None:
    """Put ``recorder`` behind every hook (observability.recorder.enable does this)."""
    global _recorder
    _recorder = recorder


def uninstall() -> None:
    """Back to the no-op recorder (tests that turned observability on in-process)."""
    install(Recorder())


def current() -> Recorder:
    return _recorder


async def _observed(
    call: Awaitable[T], begin: Callable[[], Any], end: Callable[[Any, Any, BaseException | None], None]
) -> T:
    """Run ``call`` once between ``begin()`` and ``end(state, result, error)``; the recorder's faults dropped."""
    state = _safely(begin)
    try:
        result = await call
    except BaseException as error:
        _safely(end, state, None, error)
        raise
    _safely(end, state, result, None)
    return result


def mixpeek_request(
    fn: Callable[Concatenate[S, str, str, P], Awaitable[T]],
) -> Callable[Concatenate[S, str, str, P], Coroutine[Any, Any, T]]:
    """Decorates ``TasksClient._request(self, method, path, ...)``: one Mixpeek call, retries included."""

    @functools.wraps(fn)
    async def observed(self: S, method: str, path: str, /, *args: P.args, **kwargs: P.kwargs) -> T:
        recorder = _recorder
        if not recorder.active:
            return await fn(self, method, path, *args, **kwargs)
        return await _observed(
            fn(self, method, path, *args, **kwargs),
            lambda: recorder.request_begin(method, path),
            lambda state, _, error: recorder.request_end(state, error),
        )

    return observed


def mixpeek_attempt(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorates ``TasksClient._send``: one HTTP attempt; its result's ``.status`` (or its exception) is counted."""

    @functools.wraps(fn)
    async def observed(*args: P.args, **kwargs: P.kwargs) -> T:
        recorder = _recorder
        if not recorder.active:
            return await fn(*args, **kwargs)
        return await _observed(fn(*args, **kwargs), recorder.attempt_begin, recorder.attempt_end)

    return observed


def poller_batch(
    fn: Callable[[S, str, list[Any]], Awaitable[None]],
) -> Callable[[S, str, list[Any]], Coroutine[Any, Any, None]]:
    """Decorates ``Poller._check(self, identity, entries)``: one batch of checks made together."""

    @functools.wraps(fn)
    async def observed(self: S, identity: str, entries: list[Any]) -> None:
        recorder = _recorder
        if not recorder.active:
            await fn(self, identity, entries)
            return

        def begin() -> Any:
            watchers = (watcher for entry in entries for watcher in getattr(entry, "watchers", ()))
            links = (getattr(watcher, "trace_link", None) for watcher in watchers)
            return recorder.batch_begin(self, len(entries), links)

        await _observed(fn(self, identity, entries), begin, lambda state, _, error: recorder.batch_end(state, error))

    return observed


@contextlib.contextmanager
def triage_page(number: int) -> Iterator[None]:
    """Around the request of triage page ``number`` (1-based): its span is the parent of the HTTP span."""
    recorder = _recorder
    if not recorder.active:
        yield
        return
    state = _safely(recorder.page_begin, number)
    try:
        yield
    except BaseException as error:
        _safely(recorder.page_end, state, error)
        raise
    _safely(recorder.page_end, state, None)


def budget_wait(key_label: str, seconds: float) -> None:
    """A request sleeps ``seconds`` for the budget of ``key_label`` (``labels.key_label`` or ``ALL_KEYS``)."""
    _safely(_recorder.budget_wait, key_label, seconds)


def learned_limit(key_label: str, per_minute: float) -> None:
    """The budget of ``key_label`` is now ``per_minute`` requests a minute (0 = unlimited)."""
    _safely(_recorder.learned_limit, key_label, per_minute)


def task_watch_started() -> None:
    _safely(_recorder.gauge_step, "task_watches", 1)


def task_watch_ended() -> None:
    _safely(_recorder.gauge_step, "task_watches", -1)


def listen_stream_opened() -> None:
    _safely(_recorder.gauge_step, "listen_streams", 1)


def listen_stream_closed() -> None:
    _safely(_recorder.gauge_step, "listen_streams", -1)


def trace_link() -> object | None:
    """The current span's context (None while traces are off). ``Subscription.__init__`` keeps it as
    ``self.trace_link``: the poller batches that check its tasks link back to the call that waits."""
    return _safely(_recorder.trace_link)


def flush(timeout_seconds: float = 5.0) -> None:
    """Export the spans still buffered (blocking; the HTTP app calls it on shutdown, since uvicorn ends the
    process by re-raising SIGTERM and the SDK's atexit flush would never run)."""
    _safely(_recorder.flush, timeout_seconds)


def redis_state(up: bool) -> None:
    """The shared-state backend answered (``up``) or failed its last operation or health check."""
    _safely(_recorder.redis_state, up)


def redis_error(operation: str) -> None:
    """One failed Redis operation (a short fixed name such as ``publish`` or ``get``; never data)."""
    _safely(_recorder.redis_error, operation)
