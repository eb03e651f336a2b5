"""Audio with sequence markers that survive Opus at 16 kbit/s, and their detector.

Once per second a 100 ms tone burst starts exactly on the second of the stamp clock (wall-clock ms
modulo `STAMP_PERIOD_MS`); its frequency says which second of the period it is (400 Hz + 150 Hz × k,
k = 0…19, all inside Opus wideband). Between bursts a quiet deterministic noise keeps the encoder
working like it would on a real microphone. The receiver finds each burst's onset (energy rising out of
the quiet), reads k from the spectrum, and gets audio latency as (onset time − k s) mod period and
marker loss from missing k's.

`PreencodedAudioTrack` loops one period of mono Opus at 16 kbit/s as `av.Packet`s (aiortc's own Opus
encoder would send ~96 kbit/s stereo), released on the stamp clock like the pre-encoded video.
"""

from __future__ import annotations

import fractions
import functools
import time
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench import stamp
from bench.video_source import _PeriodClock

SAMPLE_RATE = 48_000
MARK_EVERY_MS = 1000
MARK_MS = 100
MARKS = stamp.STAMP_PERIOD_MS // MARK_EVERY_MS
BASE_HZ, STEP_HZ = 400.0, 150.0
PACKET_MS = 20
AUDIO_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
ONSET_LEVEL = 0.08
"""RMS (full scale 1.0) above which a block counts as a burst; the noise floor is ~0.006."""
QUIET_BEFORE_MS = 300
NEGATIVE_LIMIT_MS = 2000
"""A latency within this much below a whole period means the burst arrived before it was sent: it was
misread (e.g. a concealment or jitter-buffer jump spliced two bursts), and is counted, not used."""


def mark_hz(k: int) -> float:
    return BASE_HZ + STEP_HZ * k


@functools.lru_cache(maxsize=1)
def period_pcm() -> np.ndarray:
    """One stamp period of the marked signal, mono float32 in [-1, 1]."""
    total = stamp.STAMP_PERIOD_MS * SAMPLE_RATE // 1000
    pcm = np.random.default_rng(1234).normal(0.0, 0.006, total).astype(np.float32)
    length = MARK_MS * SAMPLE_RATE // 1000
    ramp = min(240, length // 4)
    envelope = np.ones(length, np.float32)
    envelope[:ramp] = np.linspace(0, 1, ramp)
    envelope[-ramp:] = np.linspace(1, 0, ramp)
    t = np.arange(length) / SAMPLE_RATE
    for k in range(MARKS):
        start = k * MARK_EVERY_MS * SAMPLE_RATE // 1000
        pcm[start : start + length] += 0.5 * envelope * np.sin(2 * np.pi * mark_hz(k) * t).astype(np.float32)
    return pcm


@functools.lru_cache(maxsize=4)
def encode_loop(bitrate: int = 16_000) -> tuple[bytes, ...]:
    """One period of mono Opus in 20 ms packets, encoded once per process."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = SAMPLE_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.time_base = AUDIO_TIME_BASE
    codec.options = {"application": "voip", "frame_duration": str(PACKET_MS)}
    pcm = (period_pcm() * 32767).astype(np.int16)
    step = PACKET_MS * SAMPLE_RATE // 1000
    packets: list[bytes] = []
    for i in range(0, len(pcm), step):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, i, AUDIO_TIME_BASE
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return tuple(packets[: len(pcm) // step])


class PreencodedAudioTrack(MediaStreamTrack):
    """Loops marked mono Opus at a phone's bitrate, packetized by aiortc without re-encoding."""

    kind = "audio"

    def __init__(self, bitrate: int = 16_000) -> None:
        super().__init__()
        self._packets = encode_loop(bitrate)
        self._clock = _PeriodClock()
        self._next: int | None = None  # chosen at the first recv(): sending starts then, not at creation
        self._lap = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError()
        if self._next is None:
            self._clock = _PeriodClock()
            offset_ms = time.time() * 1000 - self._clock.period_start_ms
            self._next = int(offset_ms // PACKET_MS) + 1
            if self._next >= len(self._packets):
                self._next, self._lap = 0, 1
        n = self._next
        elapsed_ms = await self._clock.wait(n * PACKET_MS, self._lap)
        self._next = n + 1
        if self._next == len(self._packets):
            self._next, self._lap = 0, self._lap + 1
        packet = av.Packet(self._packets[n])
        packet.pts = round(elapsed_ms * SAMPLE_RATE / 1000)
        packet.time_base = AUDIO_TIME_BASE
        return packet


@dataclass
class Mark:
    index: int
    latency_ms: float


@dataclass
class MarkDetector:
    """Finds marker onsets in decoded audio; feed frames in order with their receive times."""

    block: int = SAMPLE_RATE // 200  # 5 ms
    marks: list[Mark] = field(default_factory=list)
    misread: int = 0
    _quiet_blocks: int = 0
    _pending: list[np.ndarray] = field(default_factory=list)
    _burst: list[np.ndarray] | None = None
    _onset: float = 0.0
    _carry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _carry_time: float = 0.0

    def feed(self, samples: np.ndarray, receive_time: float) -> None:
        """`samples`: mono float in [-1, 1] whose first sample reached the application at `receive_time`.

        Latency is taken where a decoded frame reaches the application (aiortc's jitter buffer and
        decoder included), not at a modelled sound card: a player's own buffer is the player's choice.
        """
        if self._carry.size:
            receive_time = self._carry_time
            samples = np.concatenate([self._carry, samples])
        whole = samples.size // self.block * self.block
        self._carry, self._carry_time = samples[whole:], receive_time + whole / SAMPLE_RATE
        quiet_needed = QUIET_BEFORE_MS * SAMPLE_RATE // 1000 // self.block
        for i in range(0, whole, self.block):
            chunk = samples[i : i + self.block]
            loud = float(np.sqrt(np.mean(chunk * chunk))) > ONSET_LEVEL
            if self._burst is not None:
                self._burst.append(chunk)
                if len(self._burst) * self.block >= SAMPLE_RATE * 60 // 1000:
                    self._finish()
            elif loud and self._quiet_blocks >= quiet_needed:
                self._burst, self._onset = [chunk], receive_time + i / SAMPLE_RATE
            self._quiet_blocks = 0 if loud else self._quiet_blocks + 1

    def _finish(self) -> None:
        assert self._burst is not None
        burst = np.concatenate(self._burst) * np.hanning(sum(b.size for b in self._burst))
        self._burst = None
        spectrum = np.abs(np.fft.rfft(burst, 8 * burst.size))
        peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (8 * burst.size)
        k = round((peak_hz - BASE_HZ) / STEP_HZ)
        if 0 <= k < MARKS and abs(peak_hz - mark_hz(k)) < STEP_HZ / 3:
            latency = (self._onset * 1000 - k * MARK_EVERY_MS) % stamp.STAMP_PERIOD_MS
            if latency > stamp.STAMP_PERIOD_MS - NEGATIVE_LIMIT_MS:
                self.misread += 1
            else:
                self.marks.append(Mark(k, latency))

    def missing(self) -> int:
        """Marks skipped between the first and last one detected (lost or unreadable bursts)."""
        if len(self.marks) < 2:
            return 0
        expected = 0
        for a, b in zip(self.marks, self.marks[1:]):
            expected += (b.index - a.index) % MARKS or MARKS
        return expected - (len(self.marks) - 1)


def to_mono(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame (aiortc decodes Opus to s16 stereo, interleaved) as mono float."""
    data = frame.to_ndarray()
    first = data[0] if frame.format.is_planar else data[0, :: len(frame.layout.channels)]
    return first.astype(np.float32) * (1 / 32768)
