"""A protected consumer's port: its video goes out inside RED, with ULPFEC packets in between.

Installed on one consumer (`Consumer.protect`) once its subscriber accepted RED and ULPFEC and its link
needs them; every other consumer keeps writing to its `SenderPort` directly, so a plain consumer's
per-packet path does no more work than before. FEC packets take sequence numbers of the media stream
(libwebrtc's receiver expects one sequence-number space), so the numbers on the wire run ahead of the
consumer's own by the FEC packets sent so far; this port maps between the two for the consumer's sends,
its retransmissions (the RTX header's original sequence number) and the subscriber's NACKs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .nack import seq_newer
from .ulpfec import FecGroups, header_size, red_packet, zero_one_byte_extension

if TYPE_CHECKING:
    from .aiortc_bridge import SenderPort
    from .fec_sdp import FecPayloadTypes

#: How many changes of the wire ↔ consumer offset are remembered (each is one group's FEC): NACKs for
#: packets older than that are ignored (a repair that late would not be played).
SHIFT_HISTORY = 64
#: The newest offset is re-anchored this many packets after its first: an offset is found by comparing
#: sequence numbers, which wrap at 65,536, and one left unchanged (no FEC sent: a clean link) would stop
#: matching the consumer's packets 32,768 packets on.
ANCHOR_SPAN = 0x4000


class FecPort:
    """Wraps a consumer's SenderPort; everything it does not override is the port's own."""

    def __init__(self, port: SenderPort, types: FecPayloadTypes, on_fec: Callable[[int], None]) -> None:
        self._port = port
        self.types = types
        self.groups = FecGroups()
        self._on_fec = on_fec  # told the size of each FEC packet sent
        self._shift = 0
        #: (first consumer sequence number, first wire sequence number, shift), oldest first
        self._history: deque[tuple[int, int, int]] = deque([(0, 0, 0)], maxlen=SHIFT_HISTORY)
        self._started = False
        self._last_wire: int | None = None
        self._last_consumer: int | None = None
        self._fec_seqs: deque[int] = deque(maxlen=SHIFT_HISTORY * 8)
        self._on_nack: Callable[[list[int]], None] | None = port.on_nack
        port.on_nack = self._nack

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    @property
    def rate(self) -> float:
        """FEC packets per media packet; 0 sends media in RED without FEC."""
        return self.groups.rate

    @rate.setter
    def rate(self, value: float) -> None:
        self.groups.rate = value

    # -- numbering --------------------------------------------------------------------------------

    def wire_seq(self, consumer_seq: int) -> int | None:
        """The sequence number on the wire of the consumer's packet `consumer_seq` (None: too old)."""
        if not self._started:
            self._started = True
            self._history[0] = (consumer_seq, consumer_seq, 0)
        for first, _, shift in reversed(self._history):
            if first == consumer_seq or seq_newer(consumer_seq, first):
                return (consumer_seq + shift) & 0xFFFF
        return None

    def consumer_seq(self, wire_seq: int) -> int | None:
        """The consumer's sequence number for a number on the wire (None: an FEC packet, or too old)."""
        if not self._started or wire_seq in self._fec_seqs:
            return None
        for _, first_wire, shift in reversed(self._history):
            if first_wire == wire_seq or seq_newer(wire_seq, first_wire):
                return (wire_seq - shift) & 0xFFFF
        return None

    # -- sending ----------------------------------------------------------------------------------

    def send(self, data: bytes, payload_size: int) -> None:
        consumer_seq = int.from_bytes(data[2:4], "big")
        wire = self.wire_seq(consumer_seq)
        if wire is None:
            return
        data = data[:2] + wire.to_bytes(2, "big") + data[4:]
        self._port.send(red_packet(data, self.types.red), payload_size + 1)
        if self._last_consumer is None or seq_newer(consumer_seq, self._last_consumer):
            self._last_consumer, self._last_wire = consumer_seq, wire
            if (consumer_seq - self._history[-1][0]) & 0xFFFF > ANCHOR_SPAN:
                self._history.append((consumer_seq, wire, self._shift))
        if self.groups.rate <= 0:
            return
        protected = zero_one_byte_extension(data, self._port.abs_send_time_ext_id)
        fec = self.groups.add(protected, wire, int.from_bytes(data[4:8], "big"), bool(data[1] & 0x80))
        if fec:
            self._send_fec(data, fec)

    def _send_fec(self, last_media: bytes, payloads: list[bytes]) -> None:
        """Send FEC packets right after the media they protect, on the next sequence numbers, in RED
        (header and extensions copied from the last media packet, marker cleared)."""
        assert self._last_wire is not None and self._last_consumer is not None
        size = header_size(last_media)
        head = last_media[:1] + bytes([self.types.red])
        tail = last_media[4:size] + bytes([self.types.ulpfec])
        for payload in payloads:
            self._last_wire = (self._last_wire + 1) & 0xFFFF
            self._fec_seqs.append(self._last_wire)
            packet = head + self._last_wire.to_bytes(2, "big") + tail + payload
            self._port.send(packet, len(payload) + 1)
            self._on_fec(len(packet))
        self._shift += len(payloads)
        first = (self._last_consumer + 1) & 0xFFFF
        self._history.append((first, (first + self._shift) & 0xFFFF, self._shift))

    def resend(self, data: bytes) -> None:
        """A retransmission from the consumer: RTX carries the wire number of the packet it repairs;
        padding (a probe) goes as it is; a repair without RTX is renumbered and sent in RED."""
        if data[0] & 0x20:
            self._port.resend(data)
            return
        if int.from_bytes(data[8:12], "big") == self._port.rtx_ssrc:
            size = header_size(data)
            wire = self.wire_seq(int.from_bytes(data[size:size + 2], "big"))
            if wire is not None:
                self._port.resend(data[:size] + wire.to_bytes(2, "big") + data[size + 2:])
            return
        wire = self.wire_seq(int.from_bytes(data[2:4], "big"))
        if wire is not None:
            self._port.resend(red_packet(data[:2] + wire.to_bytes(2, "big") + data[4:], self.types.red))

    def _nack(self, lost: list[int]) -> None:
        """The subscriber's NACK, in the consumer's numbers; lost FEC packets are not repaired."""
        if self._on_nack is None:
            return
        wanted = [s for s in (self.consumer_seq(w) for w in lost) if s is not None]
        if wanted:
            self._on_nack(wanted)
