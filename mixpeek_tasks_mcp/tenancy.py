"""One server, many keys (issue 18): what each key may hold at once, and memories one key cannot evict for another.

With key passthrough one HTTP server serves many people, each with their own Mixpeek key. Task data never
crosses keys (every request is made with its caller's key), but the server's own resources are shared, so each
key gets caps of its own, keyed by ``credentials_identity`` (a hash of key and namespace, never the key):

- ``MIXPEEK_MAX_LISTEN_STREAMS_PER_KEY``: open ``subscriptions/listen`` streams;
- ``MIXPEEK_MAX_SUBSCRIPTIONS_PER_KEY``: legacy ``resources/subscribe`` subscriptions, over all its sessions;
- ``MIXPEEK_MAX_WAITS_PER_KEY``: ``wait_for_task`` calls running at once;
- ``MIXPEEK_MAX_TRIAGES_PER_KEY``: ``triage_tasks`` calls running at once.

Beyond a cap the call is refused with an error that names the setting; nothing is sent to Mixpeek for it.
:class:`PerKey` partitions a bounded memory by key, so one key's 6,000-task scan evicts only its own entries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST

from .client import Credentials
from .settings import Settings
from .waits.poller import credentials_identity

T = TypeVar("T")

MAX_KEYS_REMEMBERED: Final = 64
"""Keys whose memories (triage progress) are kept; the one unused the longest goes first."""


@dataclass(frozen=True)
class Cap:
    """One per-key limit: what it counts, and the setting that sets it."""

    what: str
    setting: str
    advice: str


LISTEN_STREAMS: Final = Cap("open subscriptions/listen streams", "MIXPEEK_MAX_LISTEN_STREAMS_PER_KEY", "close one")
SUBSCRIPTIONS: Final = Cap(
    "resource subscriptions (over all its sessions)", "MIXPEEK_MAX_SUBSCRIPTIONS_PER_KEY", "unsubscribe from one"
)
WAITS: Final = Cap("wait_for_task calls running", "MIXPEEK_MAX_WAITS_PER_KEY", "wait for one to return")
TRIAGES: Final = Cap("triage_tasks calls running", "MIXPEEK_MAX_TRIAGES_PER_KEY", "wait for one to return")


class CapReached(Exception):
    """A key is at one of its caps; the message names the setting."""

    def __init__(self, cap: Cap, limit: int) -> None:
        super().__init__(
            f"This Mixpeek key already has {limit} {cap.what}, the most this server allows one key "
            f"({cap.setting}={limit}): {cap.advice} and call again. Nothing was sent to Mixpeek."
        )
        self.cap = cap

    def as_mcp_error(self) -> MCPError:
        return MCPError(code=INVALID_REQUEST, message=str(self))


class KeyCaps:
    """Counts what each key holds, against the limits of ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.limits: dict[Cap, int] = {
            LISTEN_STREAMS: settings.max_listen_streams_per_key,
            SUBSCRIPTIONS: settings.max_subscriptions_per_key,
            WAITS: settings.max_waits_per_key,
            TRIAGES: settings.max_triages_per_key,
        }
        self._held: dict[tuple[Cap, str], int] = {}

    def held(self, cap: Cap, credentials: Credentials) -> int:
        return self._held.get((cap, credentials_identity(credentials)), 0)

    def acquire(self, cap: Cap, credentials: Credentials) -> Callable[[], None]:
        """Take one unit of ``cap`` for this key (CapReached if it has them all); returns its release, which is
        safe to call more than once."""
        key = (cap, credentials_identity(credentials))
        limit = self.limits[cap]
        if self._held.get(key, 0) >= limit:
            raise CapReached(cap, limit)
        self._held[key] = self._held.get(key, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._held.get(key, 0) - 1
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)

        return release

    @contextmanager
    def hold(self, cap: Cap, credentials: Credentials) -> Iterator[None]:
        release = self.acquire(cap, credentials)
        try:
            yield
        finally:
            release()


class PerKey(Generic[T]):
    """One bounded memory per key (made by ``factory``), at most ``max_keys`` of them (least recently used go)."""

    def __init__(self, factory: Callable[[], T], *, max_keys: int = MAX_KEYS_REMEMBERED) -> None:
        self._factory = factory
        self._max_keys = max_keys
        self._memories: OrderedDict[str, T] = OrderedDict()

    def of(self, credentials: Credentials) -> T:
        identity = credentials_identity(credentials)
        memory = self._memories.get(identity)
        if memory is None:
            memory = self._memories[identity] = self._factory()
            while len(self._memories) > self._max_keys:
                self._memories.popitem(last=False)
        self._memories.move_to_end(identity)
        return memory

    def __len__(self) -> int:
        return len(self._memories)
