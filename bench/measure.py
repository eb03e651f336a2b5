"""What a clinician would notice, computed from received media: latency, fps, freezes, picture quality.

- `percentiles`: p50 / p95 / max (linear interpolation between samples, like numpy's default).
- `FreezeCounter`: freezes exactly as libwebrtc counts them for `freezeCount` / `totalFreezesDuration`
  (video/video_quality_observer2.cc): once at least 5 inter-frame gaps are known, a gap is a freeze if
  gap ≥ max(3 × avg, avg + 150 ms), avg being the mean of the last 30 gaps *including this one*, in whole
  milliseconds rounded down; a freeze's duration is the whole gap.
- `psnr`: luma PSNR against the regenerated source, capped at `PSNR_CAP` for identical frames.
- `VideoProbe`: per received video track; reads each frame's stamp for glass-to-glass latency, frame
  loss and order, and samples PSNR at the received resolution.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from typing import Any

import av
import numpy as np

from bench import stamp
from bench.video_source import source_luma

PSNR_CAP = 100.0
FREEZE_MIN_SAMPLES = 5
FREEZE_WINDOW = 30
FREEZE_MIN_INCREASE_MS = 150


def percentiles(values: list[float] | np.ndarray) -> dict[str, Any]:
    """count, p50, p95 and max of `values` (None when there are none)."""
    if len(values) == 0:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    p50, p95 = np.percentile(arr, [50, 95])
    return {"count": int(arr.size), "p50": float(p50), "p95": float(p95), "max": float(arr.max())}


class FreezeCounter:
    """Counts freezes in a sequence of frame render times, as browsers do."""

    def __init__(self) -> None:
        self._last_ms: int | None = None
        self._first_ms: int | None = None
        self._gaps: deque[int] = deque(maxlen=FREEZE_WINDOW)
        self.freezes_ms: list[int] = []
        self.freeze_ends: list[float] = []
        """When each freeze ended (the render time of the frame after the gap), as given to `frame`."""

    def frame(self, render_time: float) -> None:
        """Record a frame rendered at `render_time` (seconds, any clock)."""
        now_ms = int(render_time * 1000)
        if self._last_ms is not None:
            gap = now_ms - self._last_ms
            self._gaps.append(gap)
            if len(self._gaps) >= FREEZE_MIN_SAMPLES:
                avg = sum(self._gaps) // len(self._gaps)
                if gap >= max(3 * avg, avg + FREEZE_MIN_INCREASE_MS):
                    self.freezes_ms.append(gap)
                    self.freeze_ends.append(render_time)
        else:
            self._first_ms = now_ms
        self._last_ms = now_ms

    @property
    def count(self) -> int:
        return len(self.freezes_ms)

    @property
    def total_ms(self) -> int:
        return sum(self.freezes_ms)

    @property
    def duration_ms(self) -> int:
        """Time from the first to the last rendered frame."""
        if self._first_ms is None or self._last_ms is None:
            return 0
        return self._last_ms - self._first_ms


def psnr(reference: np.ndarray, received: np.ndarray, cap: float = PSNR_CAP) -> float:
    """Peak signal-to-noise ratio in dB of two equally sized uint8 planes, at most `cap`."""
    if reference.shape != received.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {received.shape}")
    mse = float(np.mean((reference.astype(np.float32) - received.astype(np.float32)) ** 2))
    if mse == 0.0:
        return cap
    return min(cap, 10.0 * math.log10(255.0**2 / mse))


def luma_of(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane of a decoded frame as a (height × width) uint8 view, without conversion."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


class VideoProbe:
    """Measures one received video track from its decoded frames."""

    def __init__(self, source_size: tuple[int, int], psnr_every: int = 10, counter_modulus: int = 1 << 16) -> None:
        """`counter_modulus`: where the sender's frame counter wraps (its track's `counter_modulus`)."""
        self.source_size = source_size
        self.counter_modulus = counter_modulus
        self.psnr_every = psnr_every
        self.freezes = FreezeCounter()
        self.latency_ms: list[float] = []
        self.psnr_db: list[float] = []
        self.resolutions: Counter[str] = Counter()
        self.frames = 0
        self.unreadable = 0
        self.skipped = 0
        self.reordered = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._last_counter: int | None = None

    def frame(self, frame: av.VideoFrame, receive_time: float | None = None) -> stamp.Stamp | None:
        """Account for one decoded frame received at `receive_time` (time.time(); default now)."""
        luma = luma_of(frame)
        found = stamp.read(luma)
        self.record(time.time() if receive_time is None else receive_time, frame.width, frame.height, found, luma)
        return found

    def record(
        self, now: float, width: int, height: int, found: stamp.Stamp | None, luma: np.ndarray | None
    ) -> None:
        """Account for one frame whose stamp was already read (None: unreadable); PSNR is sampled only
        when its luma is given (a browser ships some frames' luma, not all)."""
        self.frames += 1
        self.first_time = now if self.first_time is None else self.first_time
        self.last_time = now
        self.freezes.frame(now)
        self.resolutions[f"{width}x{height}"] += 1
        if found is None:
            self.unreadable += 1
            return
        self.latency_ms.append(stamp.latency_ms(now, found.send_ms))
        if self._last_counter is not None:
            step = (found.counter - self._last_counter) % self.counter_modulus
            if step == 0 or step > self.counter_modulus // 2:
                self.reordered += 1
            else:
                self.skipped += step - 1
        self._last_counter = found.counter
        if luma is not None and (self.frames % self.psnr_every == 1 or self.psnr_every == 1):
            reference = source_luma(found.counter, found.send_ms, self.source_size, (width, height))
            self.psnr_db.append(psnr(reference, luma))

    def summary(self) -> dict[str, Any]:
        span = (self.last_time - self.first_time) if self.first_time is not None and self.last_time else 0.0
        duration = self.freezes.duration_ms
        return {
            "frames": self.frames,
            "fps": (self.frames - 1) / span if span > 0 else 0.0,
            "g2g_ms": percentiles(self.latency_ms),
            "psnr_db": percentiles(self.psnr_db),
            "freezes": self.freezes.count,
            "freeze_ms": self.freezes.total_ms,
            "freeze_times": [[round(end, 3), ms] for end, ms in zip(self.freezes.freeze_ends, self.freezes.freezes_ms)],
            "freeze_ratio": self.freezes.total_ms / duration if duration else 0.0,
            "shown_ms": duration,
            "frames_skipped": self.skipped,
            "frames_reordered": self.reordered,
            "stamps_unreadable": self.unreadable,
            "resolutions": dict(self.resolutions),
        }
