"""Following one task for a subscriber: its first look (refusing an unknown id at subscribe time), then every
change of status or tier, and how the watch ended (issue 18, point 4).

A watch that ends because Mixpeek refused its key (401/403, or another error that polling again will not fix)
returns that error, so the subscription can end *visibly*: a legacy subscriber gets a last
``notifications/resources/updated`` (a read then shows the error) and a log message saying why, and a listen
stream ends with the reason. Before, the poller dropped the task and the client still believed it subscribed.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Final

from .client import Credentials, MixpeekError, TaskNotFoundError
from .observability import hooks as observe
from .summary import task_row
from .waits.poller import Poller
from .waits.rules import is_transient
from .waits.subscription import Observation, Subscription

FIRST_LOOK_SECONDS: Final = 10.0
"""How long subscribing waits for the task's first check (shared with any wait on it) before accepting anyway."""
WATCH_HORIZON: Final = 3600.0
"""How long one wait for the next observation lasts before it is renewed (a watch has no deadline)."""
MAX_REASON_CHARS: Final = 240

Notify = Callable[[], Awaitable[None]]


class UnknownTask(Exception):
    """The first look found no such task (or a key that may not read it); the message says which."""


def reason(error: MixpeekError) -> str:
    text = str(error)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


async def first_look(poller: Poller, credentials: Credentials, task_ids: list[str]) -> Subscription:
    """Subscribe to ``task_ids`` and wait (at most FIRST_LOOK_SECONDS) for their first checks; UnknownTask if
    one is not found or cannot be read with this key. Transient trouble (rate limit, 5xx) is no refusal."""
    subscription = poller.subscribe(credentials, task_ids, math.inf)
    waiting = set(task_ids)
    deadline = poller.clock.now() + FIRST_LOOK_SECONDS
    try:
        while waiting and poller.clock.now() < deadline:
            arrived = await subscription.updates(deadline)
            for task_id, observation in arrived.items():
                if observation.error is not None and not is_transient(observation.error):
                    raise UnknownTask(f"task {task_id[:80]!r}: {reason(observation.error)}")
                waiting.discard(task_id)
                subscription.pending[task_id] = observation  # the watch starts from it
    except BaseException:
        subscription.close()
        raise
    return subscription


def _state(observation: Observation) -> tuple[str, str | None] | None:
    return None if observation.task is None else (observation.task.status, task_row(observation.task).tier)


async def watch_task(subscription: Subscription, task_id: str, notify: Notify) -> MixpeekError | None:
    """Follow one task until it finishes or vanishes (None), or until an error polling again will not fix (that
    error), calling ``notify`` each time its status or tier changes. Closes ``subscription`` at the end."""
    poller = subscription.poller
    last: tuple[str, str | None] | None = None
    observe.task_watch_started()
    try:
        while True:
            observation = (await subscription.updates(poller.clock.now() + WATCH_HORIZON)).get(task_id)
            if observation is None:
                continue
            if observation.error is not None:
                if isinstance(observation.error, TaskNotFoundError):
                    if last is not None:
                        await notify()  # it was there and is gone: a read now says so
                    return None
                if not is_transient(observation.error):
                    return observation.error
                continue
            seen = _state(observation)
            if seen is None:
                continue
            if last is not None and seen != last:
                await notify()
            last = seen
            if observation.final:
                return None  # a finished task never changes again
    finally:
        observe.task_watch_ended()
        subscription.close()
