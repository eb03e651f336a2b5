"""Audio markers: readable after Opus at 16 kbit/s mono, giving sequence and latency."""

from __future__ import annotations

import fractions
import time

import av
import numpy as np
import pytest

from bench import audio_marks
from bench.audio_marks import MarkDetector, PreencodedAudioTrack, encode_loop, to_mono


def _decode(packets: list[bytes], lost: set[int] = frozenset()) -> list[tuple[int, av.AudioFrame]]:
    """Decode like aiortc does (libopus to s16 stereo); skip `lost` packets."""
    decoder = av.CodecContext.create("libopus", "r")
    decoder.format, decoder.layout, decoder.sample_rate = "s16", "stereo", 48_000
    out = []
    for i, data in enumerate(packets):
        if i in lost:
            continue
        packet = av.Packet(data)
        packet.pts, packet.time_base = i * 960, fractions.Fraction(1, 48_000)
        out += [(i, frame) for frame in decoder.decode(packet)]
    return out


def test_the_loop_is_mono_opus_at_a_phones_bitrate() -> None:
    packets = encode_loop(16_000)
    assert len(packets) == 1000  # 20 s of 20 ms packets
    kbps = sum(map(len, packets)) * 8 / 20 / 1000
    assert 10 <= kbps <= 18, kbps


def test_every_marker_is_read_in_sequence_with_the_known_added_delay() -> None:
    base = 1_000_000_000.0  # a multiple of the stamp period, so packet i is sent at base + i * 20 ms
    detector = MarkDetector()
    for i, frame in _decode(list(encode_loop(16_000))):
        detector.feed(to_mono(frame), base + i * 0.020 + 0.120)
    assert [m.index for m in detector.marks] == list(range(1, 20))  # mark 0 has no quiet before it
    for mark in detector.marks:
        assert 120 <= mark.latency_ms <= 135, "120 ms added plus the codec's few ms of delay"
    assert detector.missing() == 0


def test_a_lost_marker_is_counted_missing_and_others_still_read() -> None:
    lost = set(range(250, 256))  # 120 ms around the burst at 5 s
    detector = MarkDetector()
    for i, frame in _decode(list(encode_loop(16_000)), lost):
        detector.feed(to_mono(frame), 1_000_000_000.0 + i * 0.020)
    indexes = [m.index for m in detector.marks]
    assert 5 not in indexes and {4, 6} <= set(indexes)
    assert detector.missing() == 1


async def test_preencoded_audio_is_released_every_20_ms_on_the_stamp_clock() -> None:
    track = PreencodedAudioTrack()
    start = time.monotonic()
    pts = [(await track.recv()).pts for _ in range(25)]
    elapsed = time.monotonic() - start
    track.stop()
    assert np.all(np.diff(pts) == 960)
    assert elapsed == pytest.approx(0.48, abs=0.06)
    assert audio_marks.PACKET_MS == 20


def test_a_burst_that_seems_to_arrive_before_it_was_sent_is_counted_as_misread_not_used() -> None:
    detector = MarkDetector()
    for i, frame in _decode(list(encode_loop(16_000))[:260]):
        detector.feed(to_mono(frame), 1_000_000_000.0 + i * 0.020 - 0.050)  # "received" 50 ms early
    assert detector.marks == [] and detector.misread >= 3
