"""VP8 picture IDs and TL0PICIDX continue across a consumer's source switch; nothing changes before one."""

from media.sfu.keyframe import is_vp8_keyframe_start
from media.sfu.nack import RetransmitGate
from media.sfu.vp8_picture_id import PictureIdRewriter, read_picture_ids


def vp8(picture_id: int, tl0: int | None = None, keyframe: bool = True, bits: int = 15) -> bytes:
    ext = 0x80 | (0x40 if tl0 is not None else 0)
    pid = bytes([0x80 | (picture_id >> 8), picture_id & 0xFF]) if bits == 15 else bytes([picture_id & 0x7F])
    return bytes([0x90, ext]) + pid + (bytes([tl0]) if tl0 is not None else b"") + bytes([0x00 if keyframe else 0x01]) + b"frame"


def test_reads_15_and_7_bit_picture_ids_and_tl0picidx():
    assert read_picture_ids(vp8(12345, tl0=7))[:3] == (12345, 15, 7)
    assert read_picture_ids(vp8(100, bits=7))[:3] == (100, 7, None)
    assert read_picture_ids(b"\x10\x00")[0] is None  # no X byte: nothing to rewrite


def test_after_a_switch_ids_continue_from_the_last_one_sent_and_wrap():
    rewriter = PictureIdRewriter()
    rewriter.restart(vp8(32767, tl0=255), vp8(500, tl0=10))
    assert rewriter.active
    out = rewriter.rewrite(vp8(500, tl0=10))
    assert read_picture_ids(out)[:3] == (0, 15, 0)
    assert read_picture_ids(rewriter.rewrite(vp8(501, tl0=10, keyframe=False)))[:3] == (1, 15, 0)
    assert is_vp8_keyframe_start(out) and out.endswith(b"frame")


def test_the_first_epoch_keeps_the_source_ids_untouched():
    rewriter = PictureIdRewriter()
    rewriter.restart(None, vp8(42))
    assert not rewriter.active


def test_seven_bit_ids_wrap_at_128():
    rewriter = PictureIdRewriter()
    rewriter.restart(vp8(127, bits=7), vp8(5, bits=7))
    assert read_picture_ids(rewriter.rewrite(vp8(5, bits=7)))[0] == 0


def test_a_packet_is_resent_at_most_twice_and_once_per_round_trip():
    gate = RetransmitGate()
    assert gate.allow(7, 0.1, now=0.0)
    assert not gate.allow(7, 0.1, now=0.05)  # within the round trip
    assert gate.allow(7, 0.1, now=0.2)
    assert not gate.allow(7, 0.1, now=1.0)  # two tries spent
    assert gate.allow(8, 0.1, now=1.0)


def test_a_packet_is_given_up_when_asked_for_again_a_round_trip_after_its_last_try():
    gate = RetransmitGate()
    assert gate.allow(7, 0.5, now=0.0) == 1
    assert not gate.gave_up(7, 0.5, now=0.7)  # a try left
    assert gate.allow(7, 0.5, now=0.7) == 2
    assert not gate.gave_up(7, 0.5, now=1.0)  # that resend may still be on its way (its NACK crossed it)
    assert gate.gave_up(7, 0.5, now=1.31)  # asked again a round trip later: the last try was lost too
    assert not gate.gave_up(8, 0.5, now=2.0)  # never resent
