"""A VideoTranscoder: one per video producer that some subscriber needs below its original quality.

It taps the producer's packets in the router's fan-out, rebuilds frames, DECODES EACH FRAME ONCE, and
for every active tier scales, encodes and packetizes once (`TierEncoder`), handing the packets to that
tier's `TierSource`, which fans them out to every consumer on the tier. Tiers are reference counted:
`acquire` starts one, the last `release` stops its encoder, and with no tier left the tap detaches.

Codec work runs on an executor thread (PyAV releases the GIL inside codec calls), one frame at a time
per producer, behind a bounded backlog: when the codec thread falls behind, tier encodes are skipped
(the tiers' frame rate falls) while every frame is still decoded, because later frames depend on it.
If even decoding falls `MAX_BACKLOG_FRAMES` behind, the backlog is dropped and decoding restarts at
the publisher's next keyframe. Any loss on the input (a hole, an incomplete frame, a decoder error)
does the same: PLI upstream, and nothing on any tier until a keyframe has decoded cleanly — a tier is
never a corrupt picture.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

import av
from aiortc.rtp import RtpPacket
from av.codec.context import CodecContext

from media.sfu.producer import Producer
from media.sfu.router import Router

from .codecs import VIDEO_TIME_BASE, open_decoder
from .frame_assembler import EncodedFrame, FrameAssembler
from .ladder import Ladder
from .tier import TierSource
from .tier_encoder import TierCounters, TierEncoder

log = logging.getLogger(__name__)

#: Input frames allowed to wait for the codec thread (~1 s at 15 fps); past it the backlog is dropped.
MAX_BACKLOG_FRAMES = 15
#: With more than this many frames waiting, the codec thread only decodes (tier encodes are skipped).
ENCODE_BACKLOG_FRAMES = 1

_shared_executor: ThreadPoolExecutor | None = None


def codec_executor() -> ThreadPoolExecutor:
    """The process-wide codec threads, one per core: transcoders share them, so load never oversubscribes."""
    global _shared_executor
    if _shared_executor is None:
        _shared_executor = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="transcode")
    return _shared_executor


@dataclass
class TranscoderStats:
    input_frames: int = 0  # whole frames rebuilt from the producer's packets
    decodes: int = 0  # decoder calls (exactly one per input frame that was decoded)
    decode_ms: float = 0.0  # codec-thread CPU spent decoding
    skipped_frames: int = 0  # whole frames not decoded because a keyframe was awaited
    input_losses: int = 0  # holes in the producer's packets that became loss
    decode_errors: int = 0
    backlog_overflows: int = 0
    max_backlog: int = 0  # most frames seen waiting behind the one being transcoded
    keyframe_requests: int = 0  # PLIs asked of the producer
    tiers: dict[str, TierCounters] = field(default_factory=dict)  # counted across a tier's stops and restarts


class VideoTranscoder:
    def __init__(self, router: Router, producer: Producer, ladder: Ladder, executor: Executor | None = None) -> None:
        if producer.kind != "video":
            raise ValueError("a VideoTranscoder transcodes video producers")
        self.router = router
        self.producer = producer
        self.ladder = ladder
        self.stats = TranscoderStats()
        self.closed = False
        self._executor = executor or codec_executor()
        self._tiers: dict[str, TierEncoder] = {}
        self._assembler: FrameAssembler | None = None
        self._decoder: CodecContext | None = None
        self._backlog: deque[EncodedFrame] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._awaiting_keyframe = True
        self._busy = False
        self._pts_unwrap = _Unwrapper()
        #: the publisher's picture size, as last decoded (None until a frame has been)
        self.source_size: tuple[int, int] | None = None
        producer.on_close.append(self.close)

    # -- tiers ----------------------------------------------------------------------------------------

    def acquire(self, tier_name: str) -> TierSource:
        """The tier's source, started if needed; every caller gets the same one. Pair with `release`."""
        if self.closed:
            raise RuntimeError("transcoder closed")
        encoder = self._tiers.get(tier_name)
        if encoder is None:
            tier = self.ladder.video_tier(tier_name)
            source = TierSource(self.router, self.producer, tier_name, lambda: encoder.request_keyframe())
            encoder = TierEncoder(tier, source, self.stats.tiers.setdefault(tier_name, TierCounters()))
            self._tiers[tier_name] = encoder
            if len(self._tiers) == 1:
                self._start_input()
        encoder.users += 1
        return encoder.source

    def release(self, tier_name: str) -> None:
        """One user fewer; the last one stops the tier's encoder, and with no tier left the input stops."""
        encoder = self._tiers.get(tier_name)
        if encoder is None:
            return
        encoder.users -= 1
        if encoder.users > 0:
            return
        del self._tiers[tier_name]  # a job running now holds its own reference; the encoder dies after it
        encoder.source.close()
        if not self._tiers:
            self._stop_input()

    def tier(self, tier_name: str) -> TierEncoder | None:
        return self._tiers.get(tier_name)

    @property
    def active_tiers(self) -> list[str]:
        return list(self._tiers)

    @property
    def tapped(self) -> bool:
        return self._worker is not None

    @property
    def idle(self) -> bool:
        """No frame waiting for or inside the codec thread (tests and the bench wait for this)."""
        return not self._backlog and not self._busy

    def close(self) -> None:
        """Idempotent: stops every tier and the input. Whoever moved consumers onto tiers moves them off."""
        if self.closed:
            return
        self.closed = True
        if self.close in self.producer.on_close:
            self.producer.on_close.remove(self.close)
        for encoder in self._tiers.values():
            encoder.source.close()
        self._tiers.clear()
        self._stop_input()

    # -- input ----------------------------------------------------------------------------------------

    def _start_input(self) -> None:
        self._assembler = FrameAssembler(self.producer.codec)
        self._awaiting_keyframe = True
        self.router.add_tap(self.producer.id, self)
        self._worker = asyncio.ensure_future(self._run())
        self._ask_keyframe()  # decoding can only start at one

    def _stop_input(self) -> None:
        self.router.remove_tap(self.producer.id, self)
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._backlog.clear()
        self._busy = False
        self._assembler = None
        self._decoder = None  # a restart begins at a keyframe with a fresh decoder

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None:
        """Router tap: one of the producer's packets (in arrival order, retransmissions included)."""
        if self._assembler is None:
            return
        frames, lost = self._assembler.add(packet)
        if lost:
            self.stats.input_losses += 1
            self._resync()
        for frame in frames:
            self.stats.input_frames += 1
            if self._awaiting_keyframe and not frame.keyframe:
                self.stats.skipped_frames += 1
                continue
            self._awaiting_keyframe = False
            if len(self._backlog) >= MAX_BACKLOG_FRAMES:
                self.stats.backlog_overflows += 1
                self._resync()
                continue
            self._backlog.append(frame)
            self._wake.set()

    def _resync(self) -> None:
        """Drop what cannot be decoded cleanly now and wait for the publisher's next keyframe."""
        self._backlog.clear()
        self._awaiting_keyframe = True
        self._ask_keyframe()

    def _ask_keyframe(self) -> None:
        self.stats.keyframe_requests += 1
        self.producer.request_keyframe()

    # -- codec thread ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._backlog:
                self._wake.clear()
                await self._wake.wait()
            frame = self._backlog.popleft()
            pts = self._pts_unwrap(frame.timestamp)
            self.stats.max_backlog = max(self.stats.max_backlog, len(self._backlog))
            behind = len(self._backlog) > ENCODE_BACKLOG_FRAMES
            jobs: list[TierEncoder] = []
            for encoder in self._tiers.values():
                if encoder.due(pts):
                    if behind:
                        encoder.counters.dropped_encodes += 1
                    else:
                        jobs.append(encoder)
            self._busy = True
            try:
                try:
                    outputs = await loop.run_in_executor(self._executor, self._transcode, frame, pts, jobs)
                except Exception:  # a codec bug must not end the worker: start over at a keyframe
                    log.exception("transcoding a frame of %s failed", self.producer.id)
                    self._decoder = None
                    outputs = None
                if outputs is None:
                    self.stats.decode_errors += 1
                    self._resync()
                    continue
                for encoder, payloads in outputs:
                    encoder.source.send_frame(payloads, frame.timestamp)
            finally:
                self._busy = False

    def _transcode(self, frame: EncodedFrame, pts: int, jobs: list[TierEncoder]) -> list[tuple[TierEncoder, list[bytes]]] | None:
        """Codec thread: decode one frame, then scale + encode + packetize it once per due tier.
        None when the frame did not decode (the caller resyncs)."""
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = open_decoder(self.producer.codec.mimeType)
        packet = av.Packet(frame.data)
        packet.pts = pts
        packet.time_base = VIDEO_TIME_BASE
        self.stats.decodes += 1
        started = time.thread_time()
        try:
            pictures = decoder.decode(packet)
        except av.error.FFmpegError:
            self._decoder = None  # its references are gone: start over at the keyframe
            return None
        finally:
            self.stats.decode_ms += (time.thread_time() - started) * 1000
        outputs = []
        for picture in pictures[-1:]:  # one frame in, at most one picture out (no reordering codecs)
            self.source_size = (picture.width, picture.height)
            nearer = None  # larger tiers first: each smaller one scales from the last scaled picture
            for encoder in sorted(jobs, key=lambda e: -e.tier.height):
                if encoder.source.closed:
                    continue
                payloads, nearer = encoder.encode(picture, pts, nearer)
                if payloads:
                    outputs.append((encoder, payloads))
        return outputs


class _Unwrapper:
    """32-bit RTP timestamps to an ever-growing pts (encoders want monotonic time)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._value = 0

    def __call__(self, timestamp: int) -> int:
        if self._last is not None:
            delta = (timestamp - self._last) & 0xFFFFFFFF
            self._value += delta - (1 << 32) if delta >= 0x80000000 else delta
        self._last = timestamp
        return self._value
