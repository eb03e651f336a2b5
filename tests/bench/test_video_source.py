"""The synthetic video sources: deterministic frames, paced pre-encoded packets with true send times."""

from __future__ import annotations

import time

import av
import numpy as np

from bench import stamp
from bench.measure import luma_of, psnr
from bench.video_source import PreencodedVideoTrack, StampedVideoTrack, render, source_luma


def test_a_frame_is_a_pure_function_of_its_number_and_send_time() -> None:
    assert np.array_equal(render(41, 1234, 320, 180), render(41, 1234, 320, 180))
    assert not np.array_equal(render(41, 1234, 320, 180), render(42, 1234, 320, 180))
    assert render(7, 0, 160, 90).shape == (135, 160)
    assert np.array_equal(render(70_000, 5, 160, 90), render(70_000 - 65_536, 5, 160, 90)), "n wraps with the stamp"


def test_the_regenerated_source_at_a_smaller_size_matches_a_scaled_sent_frame() -> None:
    sent = av.VideoFrame.from_ndarray(render(9, 99, 640, 360), format="yuv420p")
    received = sent.reformat(width=320, height=180, interpolation="AREA")
    assert psnr(source_luma(9, 99, (640, 360), (320, 180)), luma_of(received)) > 40


async def test_preencoded_video_starts_on_a_keyframe_and_releases_frames_at_their_stamped_times() -> None:
    track = PreencodedVideoTrack(160, 90, fps=15, bitrate=100_000)
    decoder = av.CodecContext.create("libvpx", "r")
    latencies, pts = [], []
    for i in range(20):
        packet = await track.recv()
        received = time.time()
        frames = decoder.decode(packet)
        assert len(frames) == 1, f"packet {i} must decode (the first one is a keyframe)"
        found = stamp.read(luma_of(frames[0]))
        assert found is not None
        latencies.append(stamp.latency_ms(received, found.send_ms))
        pts.append(packet.pts)
    track.stop()
    assert np.median(latencies) < 8 and max(latencies) < 100, latencies  # max: shared-machine spikes
    assert np.all(np.diff(pts) == 6000), "90 kHz timestamps advance one frame interval at 15 fps"


async def test_live_video_frames_carry_their_capture_time_and_arrive_at_the_frame_rate() -> None:
    track = StampedVideoTrack(320, 180, fps=30)
    start = time.monotonic()
    latencies = []
    for i in range(15):
        frame = await track.recv()
        found = stamp.read(luma_of(frame))
        assert found is not None and found.counter == i
        latencies.append(stamp.latency_ms(time.time(), found.send_ms))
    assert np.median(latencies) < 8
    assert 0.42 <= time.monotonic() - start <= 0.8
    track.stop()
