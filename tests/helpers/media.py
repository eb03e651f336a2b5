"""Synthetic media for tests: video frames that carry their own number in the pixels."""

from __future__ import annotations

import asyncio
import fractions
import time

import numpy as np
from av import AudioFrame, VideoFrame
from aiortc import MediaStreamTrack

WIDTH, HEIGHT = 320, 240
BITS = 16
CELL = WIDTH // BITS  # 20-pixel cells: survive VP8 at low bitrates
VIDEO_CLOCK = 90000


def stamped_frame(number: int) -> np.ndarray:
    """A grey frame with `number` drawn as 16 black/white cells along a band, plus its complement below
    (so a reader can tell a damaged stamp from a real one)."""
    img = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    for bit in range(BITS):
        on = (number >> (BITS - 1 - bit)) & 1
        x = bit * CELL
        img[40:80, x:x + CELL] = 255 if on else 0
        img[120:160, x:x + CELL] = 0 if on else 255
    return img


def read_stamp(frame: VideoFrame) -> int | None:
    img = frame.to_ndarray(format="gray")
    if img.shape != (HEIGHT, WIDTH):
        import cv2

        img = cv2.resize(img, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    number = 0
    for bit in range(BITS):
        x = bit * CELL + CELL // 2
        top = float(img[50:70, x - 4:x + 4].mean())
        bottom = float(img[130:150, x - 4:x + 4].mean())
        if abs(top - bottom) < 60:
            return None
        number = (number << 1) | (1 if top > bottom else 0)
    return number


class NumberedVideoTrack(MediaStreamTrack):
    """Frames numbered 0, 1, 2, … at `fps`; `sent` counts them."""

    kind = "video"

    def __init__(self, fps: int = 30, first_number: int = 0) -> None:
        super().__init__()
        self.fps = fps
        self.first_number = first_number
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.sent / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = VideoFrame.from_ndarray(stamped_frame((self.first_number + self.sent) & 0xFFFF), format="rgb24")
        frame.pts = int(self.sent * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.sent += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """20 ms frames of a 440 Hz tone, mono 48 kHz."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.sent * 0.02
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(960) + self.sent * 960) / 48000
        samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.sent * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self.sent += 1
        return frame


class _TrackReader:
    """Reads a remote track until it ends; subclasses look at each frame."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.ended = False
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                self.on_frame(await self.track.recv())
        except MediaStreamError:
            self.ended = True

    def on_frame(self, frame) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class FrameCollector(_TrackReader):
    """Records each video frame's stamp and arrival time."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.numbers: list[int | None] = []
        self.arrivals: list[float] = []
        super().__init__(track)

    def on_frame(self, frame) -> None:
        self.numbers.append(read_stamp(frame))
        self.arrivals.append(time.monotonic())

    def readable(self) -> list[int]:
        return [n for n in self.numbers if n is not None]


class AudioCollector(_TrackReader):
    """Counts audio frames and remembers the loudest sample."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.frames = 0
        self.peak = 0
        super().__init__(track)

    def on_frame(self, frame) -> None:
        self.frames += 1
        self.peak = max(self.peak, int(np.abs(frame.to_ndarray()).max()))
