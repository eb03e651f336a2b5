"""Frame stamps survive a weak-link encode and are read back exactly, or not at all."""

from __future__ import annotations

import fractions

import av
import cv2
import numpy as np
import pytest

from bench import stamp
from bench.measure import luma_of
from bench.video_source import encode_loop, frame_send_ms, render


def _decode_all(packets: list[bytes]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    for data in packets:
        frames += decoder.decode(av.Packet(data))
    return frames


@pytest.mark.parametrize("target", [100_000, 30_000])
def test_every_frame_of_a_160x90_vp8_encode_at_100_kbits_and_even_30_is_read_back_exactly(target: int) -> None:
    loop = encode_loop(160, 90, 15, target)
    bitrate = sum(len(f.data) for f in loop) * 8 / (stamp.STAMP_PERIOD_MS / 1000)
    assert 0.7 * target <= bitrate <= 1.15 * target, "the encode must really be at the target bitrate"
    frames = _decode_all([f.data for f in loop])
    assert len(frames) == len(loop) == 300
    for n, frame in enumerate(frames):
        assert (frame.width, frame.height) == (160, 90)
        assert stamp.read(luma_of(frame)) == stamp.Stamp(n, frame_send_ms(n, 15)), f"frame {n}"


def test_stamps_survive_an_sfu_downscale_from_360p_and_vp8_at_60_kbits() -> None:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 160, 90, "yuv420p"
    codec.bit_rate, codec.time_base = 60_000, fractions.Fraction(1, 15)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    expected, packets = [], []
    for n in range(90):
        big = av.VideoFrame.from_ndarray(render(n, 1000 + 67 * n, 640, 360), format="yuv420p")
        small = big.reformat(width=160, height=90, interpolation="AREA")
        small.pts = n
        packets += [bytes(p) for p in codec.encode(small)]
        expected.append(stamp.Stamp(n, 1000 + 67 * n))
    packets += [bytes(p) for p in codec.encode(None)]
    read = [stamp.read(luma_of(f)) for f in _decode_all(packets)]
    assert read == expected


@pytest.mark.parametrize("size", [(160, 90), (320, 180), (426, 240), (1280, 720)])
def test_a_stamp_reads_back_at_any_frame_size(size: tuple[int, int]) -> None:
    width, height = size
    luma = np.full((height, width), 128, np.uint8)
    stamp.draw(luma, stamp.Stamp(0xBEEF, 19_999))
    assert stamp.read(luma) == stamp.Stamp(0xBEEF, 19_999)
    half = cv2.resize(luma, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    assert stamp.read(half) == stamp.Stamp(0xBEEF, 19_999)


def test_a_misread_cell_makes_the_stamp_unreadable_rather_than_wrong() -> None:
    luma = np.full((90, 160), 128, np.uint8)
    stamp.draw(luma, stamp.Stamp(1234, 5678))
    for cell_x in range(0, 80, 8):  # flip each cell of the first row in turn
        damaged = luma.copy()
        damaged[0:8, cell_x : cell_x + 8] = 255 - damaged[0:8, cell_x : cell_x + 8]
        assert stamp.read(damaged) is None
    assert stamp.read(np.full((90, 160), 128, np.uint8)) is None


def test_latency_from_a_stamp_wraps_around_the_stamp_period() -> None:
    assert stamp.latency_ms(1_000_000.250, 0) == 250
    assert stamp.latency_ms(1_000_000.100, stamp.STAMP_PERIOD_MS - 50) == 150
