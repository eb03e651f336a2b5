"""What a browser does when a video frame can never be completed, for the bench's aiortc receivers.

aiortc's video jitter buffer (aiortc 1.16, 512 packets) releases frames only in sequence order from its
oldest missing packet, and asks for a keyframe only when 512 packets have piled up behind a hole or the
decoder fails. A sender that sends keyframes only when asked (Chromium) then freezes an aiortc receiver
for tens of seconds after one packet that loss repair never delivered: at 160 × 90, one packet a frame,
~34 s (measured: an aiortc doctor on lan decoded nothing for 15 s from a Chromium patient on 2G, where a
Chromium doctor decoded 7.7 fps of the same stream).

libwebrtc instead asks for a keyframe when no frame has been decodable for a while and drops incomplete
frames once a newer keyframe is complete. `StallBreaker` does the same to one aiortc jitter buffer: when
the buffer has not released a frame for `stall_ms` while packets keep arriving, it asks for a keyframe
(at most once per `stall_ms`) and, once a VP8 keyframe's first packet is in the buffer, drops everything
before it so frames flow again from that keyframe. The frames dropped count as skipped and the gap as a
freeze, as a browser would show them. A buffer that is not stalled is never touched.
"""

from __future__ import annotations

from typing import Any

from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

STALL_MS = 1000.0
"""How long no frame may leave the buffer while packets arrive before a browser-like receiver acts.
(libwebrtc asks for a keyframe after 3 s without a decodable frame, sooner when it knows one is lost;
1 s keeps a stall visible as a freeze without letting it last a whole measuring window.)"""


def starts_vp8_keyframe(packet: RtpPacket) -> bool:
    """Whether this VP8 RTP packet begins a keyframe: start of partition 0, and the VP8 frame header's
    inverse key-frame bit clear (RFC 7741 §4.3)."""
    try:
        descriptor, rest = VpxPayloadDescriptor.parse(packet.payload)
    except ValueError:
        return False
    return bool(descriptor.partition_start and descriptor.partition_id == 0 and rest and not rest[0] & 0x01)


def jitter_buffer_of(receiver: Any) -> Any:
    """The jitter buffer inside an aiortc `RTCRtpReceiver` (aiortc 1.16's private attribute)."""
    return receiver._RTCRtpReceiver__jitter_buffer


class StallBreaker:
    """Watches one aiortc video jitter buffer; call `after_packet` after each packet it was given."""

    def __init__(self, jitter_buffer: Any, stall_ms: float = STALL_MS) -> None:
        self.buffer = jitter_buffer
        self.stall_ms = stall_ms
        self.skips = 0
        """Times the buffer was moved on to a keyframe past a hole."""
        self._origin: int | None = None
        self._progress_ms = 0.0
        self._asked_ms: float | None = None

    def after_packet(self, now_ms: float) -> int | None:
        """Act on a stalled buffer; return the media SSRC to send a PLI for, or None."""
        origin = self.buffer._origin
        if origin != self._origin or self._origin is None:
            self._origin, self._progress_ms, self._asked_ms = origin, now_ms, None
            return None
        if now_ms - self._progress_ms < self.stall_ms:
            return None
        # No frame has left for stall_ms while packets arrive: a packet before the next frame's first one
        # is missing (with none missing, every new frame's first packet releases the one before it).
        packets, capacity = self.buffer._packets, self.buffer.capacity
        for offset in range(1, capacity):
            packet = packets[uint16_add(origin, offset) % capacity]
            if packet is not None and packet.sequence_number == uint16_add(origin, offset) and starts_vp8_keyframe(packet):
                self.buffer.remove(offset)
                self.skips += 1
                self._origin, self._progress_ms, self._asked_ms = self.buffer._origin, now_ms, None
                return None
        if self._asked_ms is not None and now_ms - self._asked_ms < self.stall_ms:
            return None
        self._asked_ms = now_ms
        present = next((p for p in packets if p is not None), None)
        return present.ssrc if present is not None else None
