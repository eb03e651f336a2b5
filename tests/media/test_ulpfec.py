"""RED wrapping and ULPFEC packets: a lost packet comes back, byte for byte, from an FEC packet and the
others, through a decoder written here from RFC 5109 alone (not from the encoder's code)."""

from __future__ import annotations

import random
import struct

import pytest

from media.sfu.rtp_writer import RtpWriter
from media.sfu.ulpfec import FecGroups, header_size, red_packet, ulpfec_payload, zero_one_byte_extension

VP8_PT, RED_PT, SSRC = 96, 120, 0x11223344


def media(seq: int, ts: int, size: int, marker: int = 0, ast: bytes = b"\x12\x34\x56") -> bytes:
    writer = RtpWriter(VP8_PT, SSRC, mid="1", mid_ext_id=9, abs_send_time_ext_id=3)
    payload = bytes(random.Random(seq).getrandbits(8) for _ in range(size))
    return writer.write(marker, seq & 0xFFFF, ts, payload, ast)


def recover(fec: bytes, received: dict[int, bytes], ssrc: int) -> dict[int, bytes]:
    """RFC 5109 §10.2 for one FEC packet: if exactly one protected packet is missing, rebuild it."""
    first, second, base, ts_rec, len_rec = struct.unpack("!BBHLH", fec[:10])
    long_mask = bool(first & 0x40)
    mask_bytes = 6 if long_mask else 2
    protection_length = int.from_bytes(fec[10:12], "big")
    mask = int.from_bytes(fec[12:12 + mask_bytes], "big")
    payload = bytearray(fec[12 + mask_bytes:12 + mask_bytes + protection_length])
    bits = mask_bytes * 8
    covered = [(base + i) & 0xFFFF for i in range(bits) if mask >> (bits - 1 - i) & 1]
    missing = [s for s in covered if s not in received]
    if len(missing) != 1:
        return {}
    for seq in covered:
        if seq in received:
            p = received[seq]
            first ^= p[0]
            second ^= p[1]
            ts_rec ^= int.from_bytes(p[4:8], "big")
            len_rec ^= len(p) - 12
            for i, byte in enumerate(p[12:]):
                payload[i] ^= byte
    header = struct.pack("!BBHLL", 0x80 | (first & 0x3F), second, missing[0], ts_rec, ssrc)
    return {missing[0]: header + bytes(payload[:len_rec])}


def test_red_keeps_the_header_and_names_the_media_payload_type_in_one_byte():
    packet = media(7, 9000, 50, marker=1)
    red = red_packet(packet, RED_PT)
    size = header_size(packet)
    assert red[1] == 0x80 | RED_PT  # marker kept, RED's payload type
    assert red[:1] + red[2:size] == packet[:1] + packet[2:size]  # same sequence number, timestamp, extensions
    assert red[size] == VP8_PT  # F = 0: a single block
    assert red[size + 1:] == packet[size:]


def test_zeroing_abs_send_time_leaves_the_other_extensions():
    packet = media(1, 0, 20, ast=b"\xaa\xbb\xcc")
    zeroed = zero_one_byte_extension(packet, 3)
    assert b"\xaa\xbb\xcc" not in zeroed and len(zeroed) == len(packet)
    assert zeroed == media(1, 0, 20, ast=b"\x00\x00\x00")
    assert zero_one_byte_extension(packet, 0) == packet


@pytest.mark.parametrize("count,lost_index", [(1, 0), (5, 2), (16, 15), (30, 21)])
def test_any_one_lost_packet_is_rebuilt_byte_for_byte(count: int, lost_index: int):
    base = 65530  # the group wraps the sequence numbers
    packets = [media(base + i, 3000 * (i // 3), 40 + 37 * i, marker=int(i % 3 == 2), ast=b"\0\0\0")
               for i in range(count)]
    fec = ulpfec_payload(packets, base)
    assert bool(fec[0] & 0x40) == (count > 16)  # the long mask only when needed
    lost = packets[lost_index]
    received = {int.from_bytes(p[2:4], "big"): p for p in packets if p is not lost}
    assert recover(fec, received, SSRC) == {int.from_bytes(lost[2:4], "big"): lost}


def test_a_group_of_frames_gets_interleaved_fec_that_repairs_a_burst():
    groups = FecGroups(rate=0.25)
    sent: list[bytes] = []
    fec: list[bytes] = []
    for i in range(8):  # one frame of eight packets: the group closes at its end, with two FEC packets
        sent.append(media(100 + i, 3000, 300, marker=int(i == 7), ast=b"\0\0\0"))
        fec += groups.add(sent[-1], 100 + i, 3000, i == 7)
        if i < 7:
            assert fec == []
    assert len(fec) == 2
    received = {100 + i: p for i, p in enumerate(sent) if i not in (4, 5)}  # two consecutive losses
    rebuilt = {}
    for f in fec:
        rebuilt.update(recover(f, received, SSRC))
    assert rebuilt == {104: sent[4], 105: sent[5]}


def test_small_frames_are_grouped_until_one_fec_packet_is_due():
    groups = FecGroups(rate=0.25)
    out = [len(groups.add(media(i, 3000 * i, 300, marker=1), i, 3000 * i, True)) for i in range(8)]
    assert out == [0, 0, 0, 1, 0, 0, 0, 1]


def test_a_slow_stream_still_gets_fec_within_the_span():
    groups = FecGroups(rate=0.1, max_span=18000)
    out = [groups.add(media(i, 9000 * i, 200, marker=1), i, 9000 * i, True) for i in range(3)]
    assert [len(o) for o in out] == [0, 0, 1]  # 200 ms of RTP time: one FEC packet for three


def test_off_means_no_fec_and_no_group_kept():
    groups = FecGroups(rate=0.0)
    assert groups.add(media(1, 0, 100, marker=1), 1, 0, True) == []
    assert groups.flush() == []


def test_a_span_beyond_one_mask_is_refused():
    with pytest.raises(ValueError):
        ulpfec_payload([media(0, 0, 10), media(48, 0, 10)], 0)
