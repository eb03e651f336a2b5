"""A received-bitrate window in two flat integer arrays, for aiortc's REMB estimator.

aiortc's `RateCounter` keeps one Python object per millisecond of its one-second window: 1,000 objects
per video receiver, 4,000 per consultation, a third of everything a busy worker's garbage collector
walked on each full collection. `RateWindow` answers the same calls with the same results (a test
replays random traffic through both) and gives the collector nothing to walk.
"""

from __future__ import annotations

from array import array


class RateWindow:
    """Bytes received per 1 ms bucket over the last `window_size` ms; `rate()` in bit/s (× `scale`)."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total_count += 1
        self._total_value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window_size = now_ms - self._origin_ms + 1
            if self._total_count > 0 and active_window_size > 1:
                return round(self._scale * self._total_value / active_window_size)
        return None

    def reset(self) -> None:
        self._empty()
        self._origin_index = 0
        self._origin_ms: int | None = None

    def _empty(self) -> None:
        self._counts = array("q", bytes(8 * self._window_size))
        self._values = array("q", bytes(8 * self._window_size))
        self._total_count = 0
        self._total_value = 0

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        expired = now_ms - self._window_size + 1 - self._origin_ms
        if expired <= 0:
            return
        size = self._window_size
        if expired >= size:  # the whole window is stale: one pass, not one step per elapsed millisecond
            self._empty()
        else:
            counts, values, index = self._counts, self._values, self._origin_index
            for _ in range(expired):
                self._total_count -= counts[index]
                self._total_value -= values[index]
                counts[index] = values[index] = 0
                index = (index + 1) % size
        self._origin_index = (self._origin_index + expired) % size
        self._origin_ms += expired
