"""`StallBreaker` on aiortc's real video jitter buffer, fed real VP8 packets from the bench's loop."""

from __future__ import annotations

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from bench.stall_breaker import StallBreaker, starts_vp8_keyframe
from bench.video_source import encode_loop

SSRC = 1234


def vp8_packets(frames: int, gop: int) -> list[RtpPacket]:
    """RTP packets of the first `frames` frames of a 160 × 90 loop with a keyframe every `gop` frames."""
    packets: list[RtpPacket] = []
    for n, frame in enumerate(encode_loop(160, 90, 15, 200_000, gop)[:frames]):
        for payload in Vp8Encoder._packetize(frame.data, n):
            packet = RtpPacket(payload_type=96, sequence_number=len(packets), timestamp=n * 6000, ssrc=SSRC)
            packet.payload = payload
            packet._data = payload  # type: ignore[attr-defined] # what the buffer joins into a frame
            packets.append(packet)
    return packets


def feed(packets: list[RtpPacket], breaker: StallBreaker | None, buffer: JitterBuffer) -> tuple[int, list[int]]:
    """Packets arrive 1000/15 ms apart per frame (timestamps at 90 kHz); count released frames and PLIs."""
    released, plis = 0, []
    for packet in packets:
        _, frame = buffer.add(packet)
        released += frame is not None
        if breaker is not None and (ssrc := breaker.after_packet(packet.timestamp / 90)) is not None:
            plis.append(ssrc)
    return released, plis


def test_only_the_first_packet_of_a_keyframe_is_recognised_as_its_start() -> None:
    packets = vp8_packets(16, gop=15)
    starts = [p.timestamp // 6000 for p in packets if starts_vp8_keyframe(p)]
    assert starts == [0, 15]


def test_a_hole_that_is_never_repaired_freezes_aiortc_until_the_breaker_moves_on_to_a_keyframe() -> None:
    packets = vp8_packets(60, gop=15)  # four seconds, keyframes at 0, 1, 2, 3 s
    lost = next(i for i, p in enumerate(packets) if p.timestamp // 6000 == 5)  # a packet of frame 5, never repaired
    arriving = packets[:lost] + packets[lost + 1 :]

    # aiortc alone: frames 0-3, then nothing, ever (frame 4 waits for frame 5's first packet, which is lost;
    # its buffer holds 512 packets).
    released, _ = feed(arriving, None, JitterBuffer(capacity=512, is_video=True))
    assert released == 4

    # With the breaker: 1 s after the last frame left (at frame 20) it finds the keyframe of frame 15 in
    # the buffer and moves on to it: frames 15 to 58 are released too (59 needs a 60th to follow).
    buffer = JitterBuffer(capacity=512, is_video=True)
    breaker = StallBreaker(buffer, stall_ms=1000)
    released, plis = feed(arriving, breaker, buffer)
    assert breaker.skips == 1 and released == 4 + 44, released
    assert plis == []  # a keyframe was already in the buffer: nothing to ask for


def test_with_no_keyframe_coming_the_breaker_asks_for_one_once_a_second() -> None:
    packets = vp8_packets(60, gop=300)  # one keyframe, at the start
    lost = next(i for i, p in enumerate(packets) if p.timestamp // 6000 == 5)
    buffer = JitterBuffer(capacity=512, is_video=True)
    breaker = StallBreaker(buffer, stall_ms=1000)
    released, plis = feed(packets[:lost] + packets[lost + 1 :], breaker, buffer)
    # Frame 5 never completes; from 1 s after the last frame left, a PLI each second (frames 20, 35, 50).
    assert released == 4 and breaker.skips == 0
    assert plis == [SSRC] * 3, plis


def test_a_buffer_that_keeps_releasing_frames_is_never_touched() -> None:
    buffer = JitterBuffer(capacity=512, is_video=True)
    breaker = StallBreaker(buffer, stall_ms=1000)
    released, plis = feed(vp8_packets(60, gop=15), breaker, buffer)
    assert released == 59 and plis == [] and breaker.skips == 0
