"""Whole encoded frames from a producer's RTP packets, and a clear word when one was lost.

aiortc's JitterBuffer releases a frame only when the next one starts and notices loss only when its
ring overflows (~10 frames of 720p later); a transcoder needs both sooner, so this is a small in-order
assembler instead. Packets are taken in sequence order; one that arrives ahead of a hole waits up to
`hold_ms` of media time for the hole to fill (the producer NACKs it, the publisher resends it). Past
that, the hole is a loss: the frame it hit is dropped and `add` says so, and the caller must not decode
anything but a keyframe from then on.

A frame is the run of packets ending at a marker bit (or at a timestamp change, for senders that omit
markers). A frame is whole only if its first packet directly follows the end of the previous frame:
a run that starts after a loss is never passed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc.codecs import depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media.sfu.keyframe import keyframe_detector

#: How long (media time) a packet waits for an earlier missing one before the gap counts as loss: about
#: one NACK round trip on a good link, and 2-4 frames at 15-30 fps.
HOLD_MS = 150
#: Packets allowed to wait behind a hole, whatever their timestamps say (a bound on memory).
MAX_WAITING = 512


@dataclass
class EncodedFrame:
    data: bytes  # the codec bitstream (VP8 frame, or H.264 access unit in Annex-B)
    timestamp: int  # RTP timestamp, as the publisher sent it
    keyframe: bool


class FrameAssembler:
    def __init__(self, codec: RTCRtpCodecParameters, hold_ms: int = HOLD_MS) -> None:
        self._codec = codec
        self._is_keyframe = keyframe_detector(codec.mimeType)
        self._hold_ticks = hold_ms * codec.clockRate // 1000
        self._expected: int | None = None  # the next sequence number to take
        self._waiting: dict[int, RtpPacket] = {}  # packets ahead of a hole
        self._current: list[RtpPacket] = []  # the frame being collected
        self._whole = False  # whether _current began right after the end of a frame
        self._last_timestamp = 0

    def add(self, packet: RtpPacket) -> tuple[list[EncodedFrame], bool]:
        """Take one packet; return the frames it completed and whether a loss was found."""
        seq = packet.sequence_number
        if self._expected is None:
            self._expected = seq
            self._whole = self._is_keyframe(packet.payload)  # a mid-frame start is not whole
            self._last_timestamp = packet.timestamp
        ahead = (seq - self._expected) & 0xFFFF
        if ahead >= 0x8000 or seq in self._waiting:
            return [], False  # too late (already skipped or taken) or a duplicate
        self._waiting[seq] = packet
        frames: list[EncodedFrame] = []
        self._drain(frames)
        lost = False
        if self._waiting and self._hole_is_stale(packet):
            lost = True
            self._current = []
            self._whole = False
            self._expected = min(self._waiting, key=lambda s: (s - self._expected) & 0xFFFF)  # type: ignore[operator]
            self._drain(frames)
        return frames, lost

    def _hole_is_stale(self, newest: RtpPacket) -> bool:
        if len(self._waiting) > MAX_WAITING:
            return True
        waited = (newest.timestamp - self._last_timestamp) & 0xFFFFFFFF
        return self._hold_ticks < waited < 0x80000000

    def _drain(self, frames: list[EncodedFrame]) -> None:
        while self._expected in self._waiting:
            packet = self._waiting.pop(self._expected)
            self._expected = (self._expected + 1) & 0xFFFF
            if self._current and packet.timestamp != self._current[0].timestamp:
                self._finish(frames)  # no marker on the previous frame: the timestamp says it ended
            self._current.append(packet)
            self._last_timestamp = packet.timestamp
            if packet.marker:
                self._finish(frames)

    def _finish(self, frames: list[EncodedFrame]) -> None:
        packets, self._current = self._current, []
        whole, self._whole = self._whole, True
        if not whole:
            return
        try:
            data = b"".join(depayload(self._codec, p.payload) for p in packets)
        except Exception:  # a malformed payload descriptor: as good as lost
            self._whole = False
            return
        frames.append(EncodedFrame(data, packets[0].timestamp, self._is_keyframe(packets[0].payload)))
