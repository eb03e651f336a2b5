"""FrameAssembler: whole frames in order, reordering within the hold, and loss said out loud."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from media.adaptive.frame_assembler import HOLD_MS, FrameAssembler
from tests.helpers.rtp_publisher import VP8_CODEC

TICKS = 6000  # 15 fps


def _frame(first_seq: int, number: int, packets: int, key: bool = False) -> list[RtpPacket]:
    """One VP8 frame in `packets` packets: S bit on the first, a 1-byte VP8 header telling key/delta."""
    out = []
    for i in range(packets):
        descriptor = bytes([0x10 if i == 0 else 0x00])
        body = bytes([0x00 if key else 0x01]) if i == 0 else b""
        out.append(RtpPacket(payload_type=96, marker=int(i == packets - 1), sequence_number=(first_seq + i) & 0xFFFF,
                             timestamp=number * TICKS, payload=descriptor + body + bytes([number, i])))
    return out


def _stream(frames: int, packets: int = 3, first_seq: int = 65530) -> list[list[RtpPacket]]:
    return [_frame(first_seq + n * packets, n, packets, key=n == 0) for n in range(frames)]


def _feed(assembler: FrameAssembler, packets: list[RtpPacket]) -> tuple[list, int]:
    frames, losses = [], 0
    for packet in packets:
        done, lost = assembler.add(packet)
        frames += done
        losses += lost
    return frames, losses


def test_frames_come_out_whole_in_order_across_a_sequence_wrap() -> None:
    frames, losses = _feed(FrameAssembler(VP8_CODEC), [p for f in _stream(4) for p in f])
    assert [f.timestamp for f in frames] == [0, TICKS, 2 * TICKS, 3 * TICKS] and losses == 0
    assert [f.keyframe for f in frames] == [True, False, False, False]
    assert frames[1].data == bytes([0x01, 1, 0, 1, 1, 1, 2])  # descriptors stripped, packets joined


def test_reordered_packets_and_duplicates_within_the_hold_lose_nothing() -> None:
    stream = _stream(3)
    packets = stream[0] + [stream[1][1], stream[1][0], stream[1][0], stream[1][2]] + stream[2]
    frames, losses = _feed(FrameAssembler(VP8_CODEC), packets)
    assert len(frames) == 3 and losses == 0


def test_a_hole_older_than_the_hold_is_loss_and_the_frame_it_hit_is_dropped() -> None:
    stream = _stream(8)
    assembler = FrameAssembler(VP8_CODEC)
    packets = [p for f in stream for p in f if p is not stream[2][0]]
    frames, losses = _feed(assembler, packets)
    assert losses == 1
    assert [f.timestamp // TICKS for f in frames] == [0, 1, 3, 4, 5, 6, 7]  # frame 2 never comes out
    held = HOLD_MS * 90 // TICKS
    assert held >= 2  # a retransmission has a couple of frames' time to arrive


def test_a_start_in_the_middle_of_a_frame_is_not_passed_on() -> None:
    stream = _stream(3)
    frames, _ = _feed(FrameAssembler(VP8_CODEC), stream[1][1:] + stream[2])
    assert [f.timestamp // TICKS for f in frames] == [2]
