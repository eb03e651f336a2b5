"""A TierEncoder: one producer × one tier. Scales, encodes and packetizes each frame once for that tier.

Its `encode` runs on a codec thread (the transcoder's executor); everything else runs on the event loop.
The TierSource it feeds is what consumers forward from, so however many subscribers sit on the tier,
the picture is scaled, encoded and packetized once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import av

from aiortc.codecs import H264Encoder, Vp8Encoder
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame

from .codecs import H264, VIDEO_TIME_BASE, Scaler, allow_any_picture, force_keyframe, open_encoder
from .ladder import VideoTier
from .tier import TierSource

#: At most one forced keyframe per this many seconds per tier: each costs several frames' bits on a weak
#: link, and a burst of subscriber PLIs (up to ~3/s behind a lossy queue) would otherwise be all keyframes.
#: A request inside the interval is kept and served when it ends.
KEYFRAME_INTERVAL_S = 0.3
#: A frame counts as due when it is at most this share of a frame interval early (capture jitter).
FPS_SLACK = 0.2


@dataclass
class TierCounters:
    encodes: int = 0  # encoder calls (one per frame this tier sent)
    dropped_encodes: int = 0  # due frames not encoded because the codec thread was behind
    keyframes: int = 0  # keyframes this tier sent
    forced_keyframes: int = 0  # of which forced by a request
    encode_ms: float = 0.0  # codec-thread CPU spent scaling, encoding and packetizing


class TierEncoder:
    def __init__(self, tier: VideoTier, source: TierSource, counters: TierCounters | None = None) -> None:
        self.tier = tier
        self.source = source
        self.users = 0
        self.counters = counters or TierCounters()
        self._mime = source.codec.mimeType.lower()
        # aiortc's packers with no encoder behind them: `pack` packetizes an av.Packet (RFC 7741 / 6184)
        self._packer = H264Encoder() if self._mime == H264 else Vp8Encoder()
        self._encoder: VideoCodecContext | None = None
        self._output_size: tuple[int, int] | None = None
        self._input_size = (0, 0)  # the publisher's picture size the encoder was opened for
        self._scalers: dict[tuple[int, int], Scaler] = {}  # by the size scaled from: kept, never per frame
        self._interval = VIDEO_TIME_BASE.denominator / tier.fps  # in 90 kHz ticks
        self._next_due: float | None = None
        self._keyframe_wanted = False
        self._last_forced = -1e9

    def request_keyframe(self) -> None:
        """Make a coming frame a keyframe (a consumer switched on, or a subscriber lost a picture)."""
        self._keyframe_wanted = True

    def due(self, pts: int) -> bool:
        """Whether the frame at `pts` (90 kHz) fits under the tier's frame-rate cap."""
        return self._next_due is None or pts >= self._next_due - FPS_SLACK * self._interval

    def encode(self, frame: VideoFrame, pts: int, nearer: VideoFrame | None = None) -> tuple[list[bytes], VideoFrame]:
        """Codec thread: scale `frame` (or `nearer`, a picture of it already scaled for a larger tier, when
        it is still at least this tier's size: cheaper), encode it and packetize the result.
        Returns the RTP payloads and the scaled picture (a smaller tier may scale from it)."""
        started = time.thread_time()
        try:
            return self._encode(frame, pts, nearer)
        finally:
            self.counters.encode_ms += (time.thread_time() - started) * 1000

    def _encode(self, frame: VideoFrame, pts: int, nearer: VideoFrame | None) -> tuple[list[bytes], VideoFrame]:
        self._take_slot(pts)
        if (frame.width, frame.height) != self._input_size:
            self._open(frame.width, frame.height)
        assert self._output_size is not None and self._encoder is not None
        if nearer is not None and nearer.width >= self._output_size[0] and nearer.height >= self._output_size[1]:
            frame = nearer
        scaler = self._scalers.get((frame.width, frame.height))
        if scaler is None:
            scaler = self._scalers[(frame.width, frame.height)] = Scaler(*self._output_size)
        scaled = scaler.scale(frame)
        scaled.pts = pts
        scaled.time_base = VIDEO_TIME_BASE
        now = time.monotonic()
        if self._keyframe_wanted and now - self._last_forced >= KEYFRAME_INTERVAL_S:
            self._keyframe_wanted = False
            self._last_forced = now
            self.counters.forced_keyframes += 1
            force_keyframe(scaled)
        else:
            allow_any_picture(scaled)
        payloads: list[bytes] = []
        self.counters.encodes += 1
        try:
            packets = self._encoder.encode(scaled)
        except av.error.FFmpegError:
            self._input_size = (0, 0)  # reopen on the next frame (a fresh encoder starts with a keyframe)
            return [], scaled
        for packet in packets:
            if packet.is_keyframe:
                self.counters.keyframes += 1
            payloads += self._packer.pack(packet)[0]
        return payloads, scaled

    def _take_slot(self, pts: int) -> None:
        # Step the schedule by whole intervals, so a 15 fps input into a 10 fps tier gives 10 fps, not 7.5;
        # after a long gap restart from this frame rather than letting a burst through.
        if self._next_due is None or pts - self._next_due > self._interval:
            self._next_due = pts + self._interval
        else:
            self._next_due += self._interval

    def _open(self, width: int, height: int) -> None:
        """(Re)start the encoder for a source of this size (the first frame, or the publisher resized)."""
        out_w, out_h = self._output_size = self.tier.size_for(width, height)
        self._input_size = (width, height)
        self._scalers.clear()
        self._encoder = open_encoder(self._mime, out_w, out_h, self.tier.kbps, self.tier.fps)

    @property
    def output_size(self) -> tuple[int, int] | None:
        return self._output_size
