"""RED (RFC 2198) and ULPFEC (RFC 5109) for one video stream, the way Chromium receives them.

libwebrtc's receiver takes a RED packet with a single block (no F bit), strips the one-byte RED header to
get the media packet back (its payload type from that byte), and hands RED packets whose block payload
type is ULPFEC to its FEC decoder. Media and FEC packets share one SSRC and one sequence-number space.
An FEC packet protects whole media packets as that receiver rebuilds them: the media payload type, the
header extensions as sent but with the ones a pacer writes late (abs-send-time) zeroed, and the payload.

Pure functions and one small grouping class; no I/O. Checked by an independent XOR decoder in
tests/media/test_ulpfec.py and by a real Chromium (tests/media/adaptive/test_fec_chromium.py).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

RTP_HEADER_SIZE = 12
#: An FEC header (10 bytes) and a level-0 header with a 16-bit mask (4) or a 48-bit one (L bit, 8).
FEC_HEADER_SIZE = 10
SHORT_MASK_PACKETS = 16
LONG_MASK_PACKETS = 48

_FEC_HEADER = struct.Struct("!BBHLH")


def header_size(packet: bytes) -> int:
    """Bytes of an RTP packet's header: fixed part, CSRCs and header extension."""
    size = RTP_HEADER_SIZE + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        words = int.from_bytes(packet[size + 2:size + 4], "big")
        size += 4 + 4 * words
    return size


def zero_one_byte_extension(packet: bytes, ext_id: int) -> bytes:
    """The packet with the value of one-byte header extension `ext_id` (RFC 8285) set to zeros: the
    receiver zeroes the extensions a sender's pacer fills in after FEC is computed (abs-send-time)."""
    if not ext_id or not packet[0] & 0x10:
        return packet
    start = RTP_HEADER_SIZE + 4 * (packet[0] & 0x0F)
    if packet[start:start + 2] != b"\xbe\xde":
        return packet
    end = start + 4 + 4 * int.from_bytes(packet[start + 2:start + 4], "big")
    i = start + 4
    while i < end:
        if packet[i] == 0:  # padding byte
            i += 1
            continue
        element_id, length = packet[i] >> 4, (packet[i] & 0x0F) + 1
        if element_id == 15:
            break
        if element_id == ext_id:
            return packet[:i + 1] + bytes(length) + packet[i + 1 + length:]
        i += 1 + length
    return packet


def red_packet(packet: bytes, red_payload_type: int) -> bytes:
    """Wrap a media packet in RED with one block: its header with RED's payload type (marker kept), then
    a one-byte RED header naming the media payload type, then the media payload."""
    size = header_size(packet)
    return b"".join((packet[:1], bytes([(packet[1] & 0x80) | red_payload_type]), packet[2:size],
                     bytes([packet[1] & 0x7F]), packet[size:]))


def ulpfec_payload(protected: Sequence[bytes], base_seq: int) -> bytes:
    """One ULPFEC packet's payload (FEC header, level-0 header, level-0 payload) protecting `protected`:
    whole RTP packets as the receiver sees them, with sequence numbers from `base_seq` to 47 past it (the
    mask says which). Any one of them can be rebuilt from the others and this."""
    if not protected:
        raise ValueError("an FEC packet protects at least one packet")
    offsets = [(int.from_bytes(p[2:4], "big") - base_seq) & 0xFFFF for p in protected]
    if max(offsets) >= LONG_MASK_PACKETS:
        raise ValueError(f"sequence numbers span {max(offsets) + 1} packets; a mask covers {LONG_MASK_PACKETS}")
    long_mask = max(offsets) >= SHORT_MASK_PACKETS
    mask_bits = LONG_MASK_PACKETS if long_mask else SHORT_MASK_PACKETS
    mask = 0
    for offset in offsets:
        mask |= 1 << (mask_bits - 1 - offset)
    first = second = timestamp = length = 0
    protection_length = max(len(p) for p in protected) - RTP_HEADER_SIZE
    body = 0
    for p in protected:
        first ^= p[0]
        second ^= p[1]
        timestamp ^= int.from_bytes(p[4:8], "big")
        length ^= len(p) - RTP_HEADER_SIZE
        # XOR of the bytes after the fixed header, zero-padded to the longest
        body ^= int.from_bytes(p[RTP_HEADER_SIZE:].ljust(protection_length, b"\x00"), "big")
    # E = 0; L says which mask follows; P, X and CC recover the first byte's bits
    first = (first & 0x3F) | (0x40 if long_mask else 0)
    header = _FEC_HEADER.pack(first, second, base_seq, timestamp, length)
    level0 = protection_length.to_bytes(2, "big") + mask.to_bytes(mask_bits // 8, "big")
    return header + level0 + body.to_bytes(protection_length, "big")


@dataclass
class _Pending:
    packet: bytes
    seq: int


class FecGroups:
    """Groups a stream's media packets and says when to send FEC for them, and over which.

    A group closes at the end of a frame once it holds enough packets for one FEC packet at `rate` (FEC
    packets per media packet), or once it spans `max_span` of RTP time (a late repair is worth little), or
    before its sequence numbers would outgrow a mask. It is then covered by ceil(packets × rate) FEC
    packets, interleaved (FEC j protects packets j, j + m, j + 2m…), so any one loss in each stride is
    repaired, a burst of up to m losses included.
    """

    def __init__(self, rate: float = 0.0, max_span: int = 18000) -> None:
        self.rate = rate
        self.max_span = max_span  # RTP ticks: 200 ms at 90 kHz
        self._group: list[_Pending] = []
        self._first_ts = 0

    def add(self, protected: bytes, seq: int, timestamp: int, marker: bool) -> list[bytes]:
        """Take one media packet (as the receiver will rebuild it); return the FEC payloads due now."""
        if self.rate <= 0:
            self._group.clear()
            return []
        group = self._group
        if group and (seq - group[0].seq) & 0xFFFF >= LONG_MASK_PACKETS:
            fec = self.flush()  # should not happen with a sane rate; never build an impossible mask
        else:
            fec = []
        if not group:
            self._first_ts = timestamp
        group.append(_Pending(protected, seq))
        if marker:
            span = (timestamp - self._first_ts) & 0xFFFFFFFF
            if len(group) * self.rate >= 1.0 or span >= self.max_span or len(group) >= LONG_MASK_PACKETS - 8:
                fec += self.flush()
        return fec

    def flush(self) -> list[bytes]:
        """FEC payloads for the open group, which is then empty."""
        group, self._group = self._group, []
        if not group:
            return []
        count = min(len(group), max(1, math.ceil(len(group) * self.rate - 1e-9)))
        base = group[0].seq
        return [ulpfec_payload([g.packet for g in group[j::count]], base) for j in range(count)]
