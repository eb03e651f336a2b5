"""A bounded history of a source's packets, indexed by sequence number, for answering NACKs.

One cache per source, shared by all its consumers: each consumer maps its own sequence numbers back to
the source's. Fixed size: old packets are overwritten, never piled up.
"""

from __future__ import annotations

from aiortc.rtp import RtpPacket

VIDEO_HISTORY = 512  # LiveKit keeps 500 video packets
AUDIO_HISTORY = 64


class PacketCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: list[RtpPacket | None] = [None] * size

    def put(self, packet: RtpPacket) -> None:
        if self._size:
            self._slots[packet.sequence_number % self._size] = packet

    def get(self, sequence_number: int) -> RtpPacket | None:
        if not self._size:
            return None
        packet = self._slots[sequence_number % self._size]
        if packet is not None and packet.sequence_number == sequence_number:
            return packet
        return None
