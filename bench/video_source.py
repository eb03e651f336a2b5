"""Deterministic, stamped video for synthetic clients: live frames or a pre-encoded VP8 loop.

Frame n is a pure function of (n, send_ms, size): a drifting texture and a moving box, with the stamp
(`bench.stamp`) drawn on top. A receiver that reads the stamp can regenerate the exact source frame
and compute PSNR.

Two tracks:
- `StampedVideoTrack` renders frames live; aiortc encodes them (its VP8 encoder never goes below
  250 kbit/s, so this is not what a phone on 2G sends).
- `PreencodedVideoTrack` yields `av.Packet`s from a loop encoded once with PyAV at the bitrate a
  weak-link phone would use (e.g. 160 × 90 at 100 kbit/s). aiortc's sender packetizes packets without
  encoding (`RTCRtpSender._next_encoded_frame` → `Vp8Encoder.pack`), so the generator costs almost
  nothing. The loop is exactly one stamp period long and frame n is released when the wall clock modulo
  the period reaches its stamped send time, so looped frames carry true send times. Playback starts at
  a keyframe (one every `gop` frames), so the loop has a keyframe every second by default. Nothing is
  encoded live, so a keyframe request (PLI) is answered by `keyframe_phases` copies of the loop whose
  keyframes fall at different frames: the track moves to the copy with the soonest keyframe, at that
  keyframe (no decoder ever sees a frame predicted from another copy). A browser answers a PLI with its
  next frame; one loop alone made a server's transcoder wait up to a second for a publisher's keyframe.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import cv2
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from bench import stamp

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)


@functools.lru_cache(maxsize=8)
def _texture(width: int, height: int) -> np.ndarray:
    """A smooth luma texture twice as wide as the frame, periodic across its width."""
    x = np.arange(2 * width)[None, :] * (2 * np.pi / width)
    y = np.arange(height)[:, None] * (2 * np.pi / height)
    tex = 128 + 50 * np.sin(3 * x + np.cos(2 * y)) + 30 * np.cos(2 * y - x)
    tex += 25 * np.sin(23 * x) * np.cos(17 * y)  # fine detail, so the encoder spends a phone's bits
    return np.clip(tex, 0, 255).astype(np.uint8)


def render(n: int, send_ms: int, width: int, height: int) -> np.ndarray:
    """Frame n as a stacked yuv420p array (height * 3 // 2 × width), stamp included."""
    n &= 0xFFFF  # the stamp's counter: all a receiver knows of n
    tex = _texture(width, height)
    shift = (2 * n) % width
    luma = tex[:, shift : shift + width].copy()
    box = max(width // 8, 4)
    bx = (7 * n) % max(width - box, 1)
    by = height // 2 + int((height // 3) * np.sin(n / 9)) - box // 2
    by = min(max(by, 0), height - box)
    luma[by : by + box, bx : bx + box] = 255 - luma[by : by + box, bx : bx + box]
    stamp.draw(luma, stamp.Stamp(n, send_ms))
    cw, ch = width // 2, height // 2
    u = np.full((ch, cw), 128 + int(40 * np.sin(n / 20)), np.uint8)
    v = np.full((ch, cw), 128 + int(40 * np.cos(n / 25)), np.uint8)
    sw, sh = stamp.stamp_area(cw, ch)
    u[:sh, :sw] = 128
    v[:sh, :sw] = 128
    return np.concatenate([luma.ravel(), u.ravel(), v.ravel()]).reshape(-1, width)


def source_luma(n: int, send_ms: int, source: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The luma plane the sender produced for frame n, scaled to the received `size` (width, height)."""
    width, height = source
    luma = render(n, send_ms, width, height)[:height]
    if (width, height) != size:
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    return luma


def frame_send_ms(n: int, fps: int) -> int:
    """Stamped send time of loop frame n: its offset in the stamp period."""
    return (n * 1000) // fps


@dataclass(frozen=True)
class EncodedFrame:
    data: bytes
    keyframe: bool


@functools.lru_cache(maxsize=16)
def encode_loop(
    width: int, height: int, fps: int, bitrate: int, gop: int | None = None, phase: int = 0
) -> tuple[EncodedFrame, ...]:
    """One stamp period of VP8 at `bitrate` bit/s, encoded once per process and cached. Keyframes every
    `gop` frames (default: a second), `phase` frames after the loop's first, which is always one."""
    if stamp.STAMP_PERIOD_MS * fps % 1000:
        raise ValueError(f"fps {fps} does not give a whole number of frames per stamp period")
    count = stamp.STAMP_PERIOD_MS * fps // 1000
    gop = gop or fps
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = gop if phase == 0 else count + 1  # shifted: each keyframe is forced, none placed
    codec.thread_count = 1
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
        "undershoot-pct": "100",
        "overshoot-pct": "15",
    }
    frames: list[EncodedFrame] = []
    for n in range(count):
        frame = av.VideoFrame.from_ndarray(render(n, frame_send_ms(n, fps), width, height), format="yuv420p")
        frame.pts = n
        if phase and n % gop == phase % gop:
            frame.pict_type = av.video.frame.PictureType.I
        frames += [EncodedFrame(bytes(p), bool(p.is_keyframe)) for p in codec.encode(frame)]
    frames += [EncodedFrame(bytes(p), bool(p.is_keyframe)) for p in codec.encode(None)]
    if len(frames) != count:
        raise RuntimeError(f"encoder returned {len(frames)} packets for {count} frames")
    return tuple(frames)


class _PeriodClock:
    """Releases loop items when the wall clock modulo the stamp period reaches their offset."""

    def __init__(self) -> None:
        now_ms = time.time() * 1000
        self.period_start_ms = now_ms - now_ms % stamp.STAMP_PERIOD_MS
        self.first_ms: float | None = None

    async def wait(self, offset_ms: float, lap: int) -> float:
        """Sleep until item `offset_ms` of loop lap `lap`; return elapsed ms since the first item."""
        due_ms = self.period_start_ms + lap * stamp.STAMP_PERIOD_MS + offset_ms
        if self.first_ms is None:
            self.first_ms = due_ms
        delay = due_ms / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        return due_ms - self.first_ms


class PreencodedVideoTrack(MediaStreamTrack):
    """Loops pre-encoded VP8 as `av.Packet`s: what a 2G phone would send, at almost no CPU."""

    kind = "video"

    def __init__(
        self, width: int = 160, height: int = 90, fps: int = 15, bitrate: int = 100_000, keyframe_phases: int = 1
    ) -> None:
        """`keyframe_phases` > 1: that many copies of the loop, keyframes spread evenly between them, so a
        keyframe request waits at most a second ÷ `keyframe_phases` (each copy costs an encode at start)."""
        super().__init__()
        self.fps = fps
        self.size = (width, height)
        self._loops = [encode_loop(width, height, fps, bitrate, None, i * fps // keyframe_phases)
                       for i in range(max(1, keyframe_phases))]
        self._frames = self._loops[0]
        self._move_to: tuple[int, int] | None = None  # (copy, frame index) to move at
        self.keyframe_requests = 0
        self.counter_modulus = len(self._frames)
        self._clock = _PeriodClock()
        self._lap = 0
        self._next: int | None = None  # chosen at the first recv(): sending starts then, not at creation
        self._sent = 0

    def _first_index(self) -> int:
        """The first keyframe not yet due, so playback starts decodable and on time."""
        offset = time.time() * 1000 - self._clock.period_start_ms
        for n, frame in enumerate(self._frames):
            if frame.keyframe and frame_send_ms(n, self.fps) >= offset:
                return n
        self._lap = 1
        return 0

    def request_keyframe(self) -> None:
        """A PLI: move to the copy of the loop whose keyframe comes soonest, at that keyframe."""
        self.keyframe_requests += 1
        start = self._next or 0
        count = len(self._frames)
        soonest = min((ahead, copy) for copy, frames in enumerate(self._loops)
                      for ahead in range(count) if frames[(start + ahead) % count].keyframe)
        self._move_to = (soonest[1], (start + soonest[0]) % count)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise _media_error()
        if self._next is None:
            self._clock = _PeriodClock()
            self._next = self._first_index()
        n = self._next
        if self._move_to is not None and self._move_to[1] == n:
            self._frames, self._move_to = self._loops[self._move_to[0]], None
        await self._clock.wait(frame_send_ms(n, self.fps), self._lap)
        self._next = n + 1
        if self._next == len(self._frames):
            self._next, self._lap = 0, self._lap + 1
        packet = av.Packet(self._frames[n].data)
        packet.pts = self._sent * 90_000 // self.fps  # exact frame intervals; the stamp has whole ms
        self._sent += 1
        packet.time_base = VIDEO_TIME_BASE
        return packet


def answer_keyframe_requests(pc: Any, track: PreencodedVideoTrack) -> None:
    """Hand the keyframe requests (PLI, FIR) the peer connection's sender of `track` gets to the track:
    aiortc forces keyframes only on encoders it runs itself, and ignores them for pre-encoded packets."""
    for sender in pc.getSenders():
        if sender.track is track:
            forward = sender._send_keyframe

            def send_keyframe(forward: Callable[[], None] = forward) -> None:
                track.request_keyframe()
                forward()

            sender._send_keyframe = send_keyframe


class StampedVideoTrack(MediaStreamTrack):
    """Renders stamped frames live at `fps`; aiortc's sender encodes them."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 360, fps: int = 15) -> None:
        super().__init__()
        self.fps = fps
        self.size = (width, height)
        self.counter_modulus = 1 << 16
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise _media_error()
        if self._start is None:
            self._start = time.time()
        due = self._start + self._n / self.fps
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        width, height = self.size
        frame = av.VideoFrame.from_ndarray(render(self._n, stamp.now_ms(), width, height), format="yuv420p")
        frame.pts = round((due - self._start) * 90_000)
        frame.time_base = VIDEO_TIME_BASE
        self._n += 1
        return frame


def _media_error() -> Exception:
    from aiortc.mediastreams import MediaStreamError

    return MediaStreamError()
