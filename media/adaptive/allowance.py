"""Resends paced inside a subscriber's estimate: a share of it, never on top of it, audio first.

On a lossy, congested link every resend competes with the media it repairs. A token bucket per
subscriber, refilled at `share` × the estimate, bounds them; video may only spend down to a reserve that
is kept for audio (a lost word costs a clinician more than a lost frame).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RetransmitAllowance:
    SHARE = 0.15
    BURST_S = 0.5
    AUDIO_RESERVE = 0.25

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate = 0.0  # bytes per second; 0 until the first estimate: then nothing limits resends
        self._tokens = 0.0
        self._at = clock()

    def set_estimate(self, estimate_bps: float) -> None:
        self._refill()
        first = self._rate == 0.0
        self._rate = estimate_bps * self.SHARE / 8
        if first:
            self._tokens = self._rate * self.BURST_S

    @property
    def rate_bps(self) -> float:
        """What resends may take from now on, bit/s (infinite before the first estimate)."""
        return self._rate * 8 if self._rate else float("inf")

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._rate * self.BURST_S, self._tokens + (now - self._at) * self._rate)
        self._at = now

    def take(self, nbytes: int, kind: str) -> bool:
        if self._rate == 0.0:
            return True
        self._refill()
        floor = 0.0 if kind == "audio" else self._rate * self.BURST_S * self.AUDIO_RESERVE
        if self._tokens - nbytes < floor:
            return False
        self._tokens -= nbytes
        return True
