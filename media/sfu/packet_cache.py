"""A bounded history of a source's packets, indexed by sequence number, for answering NACKs.

One cache per source, shared by all its consumers: each consumer maps its own sequence numbers back to
the source's. Fixed size: old packets are overwritten, never piled up.

A slot holds a plain tuple of ints and bytes, not the `RtpPacket`: the garbage collector stops tracking
such a tuple the first time it survives a collection, so the ~600 packets a publisher keeps for ten
seconds never reach the oldest generation. Kept as `RtpPacket`s (with their header-extension object and
CSRC list) they did, thousands a second in a busy worker, and set off a full collection every ~10 s that
stalled the event loop 65–155 ms (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import NamedTuple

from aiortc.rtp import RtpPacket

VIDEO_HISTORY = 512  # LiveKit keeps 500 video packets
AUDIO_HISTORY = 64


class CachedPacket(NamedTuple):
    """What a retransmission needs of a packet: its place in the stream and its payload."""

    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes


class PacketCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: list[tuple[int, int, int, bytes] | None] = [None] * size

    def put(self, packet: RtpPacket) -> None:
        if self._size:
            seq = packet.sequence_number
            self._slots[seq % self._size] = (seq, packet.timestamp, packet.marker, packet.payload)

    def get(self, sequence_number: int) -> CachedPacket | None:
        if not self._size:
            return None
        entry = self._slots[sequence_number % self._size]
        if entry is not None and entry[0] == sequence_number:
            return CachedPacket(*entry)
        return None
