"""The shared low-rate audio tier of one producer: its Opus decoded once and re-encoded once for everyone.

A subscriber whose link cannot carry the publisher's Opus (32 kbit/s in 20 ms packets is ~70 kbit/s on
the wire) is moved onto this tier: mono Opus at the ladder's rate, in-band FEC, 60 ms packets. One
`AudioTranscoder` per audio producer, started by the first subscriber that needs it (`acquire`) and
stopped when the last one leaves (`release`); every subscriber on it gets the same packets.

Timing: each output packet carries the producer's RTP timestamp of its first sample, so the producer's
sender reports (lip sync) hold for the tier. A lost input packet becomes silence of its length (PyAV's
Opus decoders offer neither packet-loss concealment nor FEC decoding), so the output keeps its 60 ms
cadence; a longer silence (the producer paused, a long outage) restarts the cadence at the next packet.
Codec work runs in an executor, one batch at a time; the backlog of input packets is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass

import av
import numpy as np
from aiortc.rtp import RtpPacket

from media.sfu.producer import Producer
from media.sfu.router import Router

from . import audio_codec
from .ladder import AudioTier
from .tier import TierSource

log = logging.getLogger(__name__)

#: Input packets waiting for the codec thread; beyond this the oldest are dropped (0.5 s of 20 ms packets):
#: late audio is worse than a gap.
MAX_BACKLOG_PACKETS = 25
#: A gap up to this long is filled with silence, keeping the output cadence; a longer one restarts it.
MAX_FILL_MS = 1000


@dataclass
class AudioTranscoderStats:
    packets_in: int = 0
    decodes: int = 0
    encodes: int = 0
    decode_errors: int = 0
    late: int = 0  # arrived after their place in the output was already filled
    dropped: int = 0  # dropped from a full backlog
    silence_samples: int = 0  # inserted for lost or missing input
    restarts: int = 0  # cadence restarted after a long gap


class OpusReencoder:
    """Decodes Opus RTP packets in order and re-encodes the audio in packets of `ptime_ms`.

    Not thread-safe: one call at a time (the transcoder runs it in an executor, one batch at a time).
    """

    def __init__(self, tier: AudioTier, stats: AudioTranscoderStats) -> None:
        self.stats = stats
        self._decoder = audio_codec.open_decoder()
        self._resampler = audio_codec.mono_resampler()
        self._encoder = audio_codec.open_encoder(tier.kbps, tier.ptime_ms, tier.fec)
        self._packet_samples = audio_codec.samples_per_packet(tier.ptime_ms)
        self._max_fill = audio_codec.samples_per_packet(MAX_FILL_MS)
        self._pcm = np.zeros(0, dtype=np.int16)  # decoded audio not yet encoded
        self._pcm_start = 0  # unwrapped RTP timestamp of self._pcm[0]
        self._next_ts: int | None = None  # unwrapped RTP timestamp the next input packet should have
        self._last_raw_ts = 0
        self._last_unwrapped = 0
        self._out: list[tuple[bytes, int]] = []
        self._origin = 0  # first unwrapped timestamp: encoder pts count from here

    def process(self, packets: list[RtpPacket]) -> list[tuple[bytes, int]]:
        """Take input packets (in arrival order); return finished (payload, RTP timestamp) pairs."""
        self._out = []
        for packet in packets:
            self._add(packet)
        while len(self._pcm) >= self._packet_samples:
            self._encode_one()
        return self._out

    def _unwrap(self, raw: int) -> int:
        if self._next_ts is None:
            self._last_raw_ts = raw
            return raw
        delta = ((raw - self._last_raw_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        self._last_raw_ts = raw
        return self._last_unwrapped + delta

    def _add(self, packet: RtpPacket) -> None:
        ts = self._unwrap(packet.timestamp)
        self._last_unwrapped = ts
        if self._next_ts is None:
            self._pcm_start = self._origin = self._next_ts = ts
        gap = ts - self._next_ts
        if gap < 0:
            self.stats.late += 1  # its slot is already filled (or it is a duplicate)
            return
        if gap > self._max_fill:
            self._restart_at(ts)
        elif gap:
            self._append(np.zeros(gap, dtype=np.int16))
            self.stats.silence_samples += gap
            self._next_ts = ts
        try:
            frames = self._decoder.decode(av.Packet(packet.payload))
        except av.FFmpegError:
            self.stats.decode_errors += 1  # its samples stay missing: the next packet sees a gap
            return
        finally:
            self.stats.decodes += 1
        for frame in frames:
            for mono in self._resampler.resample(frame):
                self._append(mono.to_ndarray().reshape(-1))
        self._next_ts = self._pcm_start + len(self._pcm)

    def _append(self, samples: np.ndarray) -> None:
        self._pcm = np.concatenate((self._pcm, samples)) if len(self._pcm) else samples

    def _restart_at(self, ts: int) -> None:
        """End the pending packet with silence (it is sent, not lost) and start a new cadence at `ts`."""
        self.stats.restarts += 1
        if len(self._pcm):
            pad = -len(self._pcm) % self._packet_samples
            self._append(np.zeros(pad, dtype=np.int16))
            while len(self._pcm):
                self._encode_one()
        self._pcm_start = self._next_ts = ts

    def _encode_one(self) -> None:
        chunk, self._pcm = self._pcm[: self._packet_samples], self._pcm[self._packet_samples:]
        ts = self._pcm_start
        self._pcm_start += self._packet_samples
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=audio_codec.SAMPLE_FORMAT,
                                           layout=audio_codec.LAYOUT)
        frame.sample_rate = audio_codec.SAMPLE_RATE
        frame.pts = ts - self._origin
        self.stats.encodes += 1
        # libopus turns each frame into exactly one packet, at once: the packet is this frame's
        self._out.extend((bytes(packet), ts) for packet in self._encoder.encode(frame))


class AudioTranscoder:
    """The low-rate audio tier of one audio producer, shared by every subscriber that needs it.

    A router tap on the producer feeds it; `acquire()` starts it on first use and returns the tier's
    Source, `release()` stops it when the last user leaves (its tap detached, its codecs dropped).
    """

    def __init__(
        self,
        router: Router,
        producer: Producer,
        tier: AudioTier,
        executor: Executor | None = None,
        max_backlog: int = MAX_BACKLOG_PACKETS,
    ) -> None:
        if producer.kind != "audio" or producer.codec.mimeType.lower() != "audio/opus":
            raise ValueError(f"an audio tier needs an Opus producer, not {producer.codec.mimeType}")
        self.router = router
        self.producer = producer
        self.tier = tier
        self.stats = AudioTranscoderStats()
        self.closed = False
        self._executor = executor
        self._backlog: deque[RtpPacket] = deque()
        self._max_backlog = max_backlog
        self._wake = asyncio.Event()
        self._refs = 0
        self._source: TierSource | None = None
        self._task: asyncio.Task[None] | None = None
        producer.on_close.append(self.close)

    @property
    def users(self) -> int:
        return self._refs

    @property
    def source(self) -> TierSource | None:
        """The running tier, or None while nobody uses it."""
        return self._source

    def acquire(self) -> TierSource:
        """One more subscriber needs the tier: start it if it is idle; move the consumer onto the result."""
        if self.closed:
            raise RuntimeError("the audio transcoder is closed")
        if self._source is None:
            self._start()
        self._refs += 1
        assert self._source is not None
        return self._source

    def release(self) -> None:
        """One subscriber no longer needs the tier (moved off it first); the last one stops it."""
        if self._refs == 0:
            return
        self._refs -= 1
        if self._refs == 0:
            self._stop()

    def close(self) -> None:
        """Idempotent: stops the tier whoever still holds it (the producer is gone)."""
        if self.closed:
            return
        self.closed = True
        self._refs = 0
        self._stop()

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None:
        """The router's tap: queue the producer's packet for the codec thread (never blocks the fan-out)."""
        self.stats.packets_in += 1
        if len(self._backlog) >= self._max_backlog:
            self._backlog.popleft()
            self.stats.dropped += 1
        self._backlog.append(packet)
        self._wake.set()

    def _start(self) -> None:
        reencoder = OpusReencoder(self.tier, self.stats)
        self._source = TierSource(self.router, self.producer, self.tier.name)
        self.router.add_tap(self.producer.id, self)
        self._task = asyncio.ensure_future(self._run(reencoder, self._source))

    def _stop(self) -> None:
        self.router.remove_tap(self.producer.id, self)
        if self._task is not None:
            self._task.cancel()  # a batch already in the executor finishes there; its output is dropped
            self._task = None
        if self._source is not None:
            self._source.close()
            self._source = None
        self._backlog.clear()

    async def _run(self, reencoder: OpusReencoder, source: TierSource) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._backlog)
            self._backlog.clear()
            if not batch:
                continue
            try:
                encoded = await loop.run_in_executor(self._executor, reencoder.process, batch)
            except Exception:  # a codec fault must not leave subscribers silent without a trace
                log.exception("audio tier %s failed on a batch", source.id)
                continue
            for payload, timestamp in encoded:
                source.send_frame([payload], timestamp)
