"""A key's limit learned from 429s alone, for an API that never sends X-RateLimit-* headers.

AIMD, as TCP's congestion control and botocore's ``adaptive`` retry mode do it: grow slowly while requests
succeed, cut hard on each 429. botocore grows along a CUBIC curve and cuts to ``BETA = 0.7`` of the measured
send rate; TCP Reno adds one segment per round trip and halves. Here:

- ``ADDITIVE_INCREASE`` = 1 request per window, spread over a window's worth of successes (each success adds
  ``1 / limit``): Reno's "one more per round trip", with the key's window as the round trip. From the
  starting 10/min it takes ~10 minutes of steady success to reach 20/min: slow on purpose, since a 429 costs
  a user a wait and a missed 11th request costs nothing but a few seconds.
- ``DECREASE_FACTOR`` = 0.5 on each 429 (Reno's halving, harder than botocore's 0.7): the API has just said
  the estimate is too high, and without headers there is no way to know by how much. At most one cut per
  ``window / limit`` seconds, so a burst of 429s from requests already in flight counts as one signal.
- ``MIN_LIMIT`` = 1 request per window: never zero, the Retry-After pause does the waiting.
"""

from __future__ import annotations

ADDITIVE_INCREASE = 1.0
DECREASE_FACTOR = 0.5
MIN_LIMIT = 1.0


class AimdLimit:
    """Requests per window, grown on success and cut on 429s, never above ``ceiling``."""

    def __init__(self, start: float, *, ceiling: float | None) -> None:
        self.ceiling = ceiling
        self.limit = max(MIN_LIMIT, min(start, ceiling) if ceiling else start)
        self.cuts = 0
        self._last_cut = float("-inf")

    def on_success(self) -> None:
        grown = self.limit + ADDITIVE_INCREASE / self.limit
        self.limit = min(grown, self.ceiling) if self.ceiling else grown

    def on_throttle(self, now: float, window: float) -> None:
        if now - self._last_cut < window / self.limit:
            return  # the same burst of 429s
        self._last_cut = now
        self.cuts += 1
        self.limit = max(MIN_LIMIT, self.limit * DECREASE_FACTOR)
