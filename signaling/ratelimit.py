"""A token bucket: how many messages one connection may send in a burst and per second."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, burst: int, per_second: float) -> None:
        self._capacity = float(burst)
        self._rate = per_second
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
