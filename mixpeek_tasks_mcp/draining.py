"""The server is shutting down: calls in flight end early with their normal partial answer (issue 18, point 5).

On SIGTERM the HTTP server gives calls in flight ``shutdown_grace_seconds`` to finish (http/drain.py). A 60 s
wait or a triage on a slow upstream outlived it and its client got "incomplete chunked read". Shortly before
the grace period ends, http/drain.py calls :meth:`Drain.begin`: every wait stops waiting and answers as if its
budget had run out ("still running, call again with ..."), and every triage scan stops reading pages and
answers with what it has read. So each client gets a complete response before the streams close.

One process-wide :data:`DRAIN` (like uvicorn's own exit flag), reset when the server has stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio


class Drain:
    """Whether the process is draining, and the cancel scopes to cut short when it begins."""

    def __init__(self) -> None:
        self.begun = False
        self._on_begin: set[Callable[[], None]] = set()

    def begin(self) -> None:
        """Cut every registered wait short (idempotent); called from the event loop's thread."""
        if self.begun:
            return
        self.begun = True
        for callback in list(self._on_begin):
            callback()

    def reset(self) -> None:
        self.begun = False
        self._on_begin.clear()

    @contextmanager
    def cuts_short(self) -> Iterator[anyio.CancelScope]:
        """A cancel scope that is cancelled when draining begins (at once if it has): the waiting inside it
        ends, and the caller answers with what it has."""
        with anyio.CancelScope() as scope:
            if self.begun:
                scope.cancel()
            self._on_begin.add(scope.cancel)
            try:
                yield scope
            finally:
                self._on_begin.discard(scope.cancel)


DRAIN = Drain()
