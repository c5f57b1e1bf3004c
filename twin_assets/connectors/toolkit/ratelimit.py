"""A token bucket: ``burst`` requests at once, refilled at ``rate`` per second.

The REST connector waits for a token (:meth:`TokenBucket.acquire`) to stay under
an API's limit; a server that rejects instead of waiting (the query API's
per-token limit) asks :meth:`TokenBucket.take`, which never sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Client- or server-side rate limit over an injected clock.

    After sleeping, :meth:`acquire` books the wait as elapsed itself, so the bucket
    stays correct with a fake clock that ``sleep`` does not move.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self._sleep = sleep
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        # ``_last`` runs ahead of the clock after a booked wait; that time is already spent.
        if now > self._last:
            self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
            self._last = now

    def take(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens if there are enough and return 0.0; otherwise take none and return the wait."""
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the time slept."""
        wait = self.take()
        if wait:
            self._sleep(wait)
            self.tokens = 0.0
            self._last += wait
        return wait
