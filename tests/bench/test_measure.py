"""The metrics, on known inputs: a shaped link with known delay, a deliberate freeze, identical frames."""

from __future__ import annotations

import asyncio
import socket
import time

import av
import numpy as np
import pytest

from bench import stamp
from bench.measure import PSNR_CAP, FreezeCounter, VideoProbe, percentiles, psnr
from bench.profiles import parse_spec
from bench.shaper_process import ShaperProcess
from bench.video_source import encode_loop, frame_send_ms, render

FPS = 15


def test_percentiles_of_known_samples() -> None:
    assert percentiles(list(range(1, 101))) == {"count": 100, "p50": 50.5, "p95": 95.05, "max": 100.0}
    assert percentiles([]) == {"count": 0, "p50": None, "p95": None, "max": None}


def test_identical_frames_give_the_capped_psnr_and_a_known_error_gives_its_value() -> None:
    luma = render(3, 300, 160, 90)[:90]
    assert psnr(luma, luma.copy()) == PSNR_CAP
    off_by_one = luma.astype(np.int16) + np.where(np.indices(luma.shape).sum(0) % 2, 1, -1)
    assert psnr(luma, np.clip(off_by_one, 0, 255).astype(np.uint8)) == pytest.approx(48.13, abs=0.2)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(luma, luma[:45])


def test_a_steady_stream_with_jitter_has_no_freeze_and_a_one_second_stall_is_one_freeze_of_a_second() -> None:
    rng = np.random.default_rng(5)
    counter, t = FreezeCounter(), 100.0
    for _ in range(60):
        t += 1 / FPS + rng.uniform(-0.02, 0.02)
        counter.frame(t)
    assert counter.count == 0
    t += 1.0
    counter.frame(t)
    resumed = t
    for _ in range(30):
        t += 1 / FPS
        counter.frame(t)
    assert counter.count == 1
    assert counter.total_ms == pytest.approx(1000, abs=2)
    assert counter.freeze_ends == [resumed], "when it ended: a switch's report finds freezes around it"


def test_a_freeze_needs_five_gaps_of_history_and_a_gap_of_max_3x_or_150_ms_over_the_average() -> None:
    counter = FreezeCounter()
    for t_ms in (0, 300, 600, 900, 1200):
        counter.frame(t_ms / 1000)
    counter.frame(1.6)  # gap 400 < max(3 * 316, 316 + 150): not a freeze at 3.3 fps
    assert counter.count == 0
    fast = FreezeCounter()
    for i in range(10):
        fast.frame(i * 0.010)
    fast.frame(0.09 + 0.16)  # avg of last gaps ~ 24 ms: 160 ms < 24 + 150
    assert fast.count == 0
    fast.frame(0.25 + 0.30)
    assert fast.count == 1


def test_the_probe_counts_resolutions_skipped_frames_and_unreadable_stamps() -> None:
    probe = VideoProbe(source_size=(320, 180), psnr_every=1)
    now = 1_000_000_000.0
    for n in (0, 1, 2, 5):
        frame = av.VideoFrame.from_ndarray(render(n, n * 66, 320, 180), format="yuv420p")
        probe.frame(frame, now + n * 0.066 + 0.040)
    blank = av.VideoFrame.from_ndarray(np.full((135, 160), 128, np.uint8), format="yuv420p")
    probe.frame(blank, now + 0.5)
    summary = probe.summary()
    assert summary["resolutions"] == {"320x180": 4, "160x90": 1}
    assert summary["frames_skipped"] == 2 and summary["stamps_unreadable"] == 1
    assert summary["psnr_db"]["p50"] == PSNR_CAP
    assert summary["g2g_ms"]["p50"] == pytest.approx(40, abs=1)


async def _send_video_through(relay: tuple[str, int], skip: range) -> None:
    """Send a 15 fps VP8 loop on its stamp schedule, one datagram per frame, leaving out `skip`."""
    frames = encode_loop(160, 90, FPS, 100_000)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    now_ms = time.time() * 1000
    period_start = now_ms - now_ms % stamp.STAMP_PERIOD_MS
    offset = now_ms - period_start + 50
    first = next((n for n in range(0, len(frames), FPS) if frame_send_ms(n, FPS) > offset), len(frames))
    for i in range(75):
        n = (first + i) % len(frames)
        lap = (first + i) // len(frames)
        due = (period_start + lap * stamp.STAMP_PERIOD_MS + frame_send_ms(n, FPS)) / 1000
        await asyncio.sleep(max(0.0, due - time.time()))
        if i not in skip:
            sock.sendto(frames[n].data, relay)
    sock.close()


async def test_video_over_a_link_with_known_delay_yields_that_latency_and_a_stall_one_freeze() -> None:
    with ShaperProcess() as shaper:
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        link = shaper.add_link(parse_spec("delay=150ms"))
        relay = shaper.route(link, receiver.getsockname())
        probe = VideoProbe(source_size=(160, 90), psnr_every=5, counter_modulus=len(encode_loop(160, 90, FPS, 100_000)))
        decoder = av.CodecContext.create("libvpx", "r")
        loop = asyncio.get_running_loop()

        def on_datagram() -> None:
            while True:
                try:
                    data = receiver.recv(65536)
                except BlockingIOError:
                    return
                arrived = time.time()
                for frame in decoder.decode(av.Packet(data)):
                    probe.frame(frame, arrived)

        loop.add_reader(receiver.fileno(), on_datagram)
        try:
            await _send_video_through(relay, skip=range(30, 45))  # frames 30-44 never sent: a 1 s stall
            await asyncio.sleep(0.3)
        finally:
            loop.remove_reader(receiver.fileno())
            receiver.close()
    summary = probe.summary()
    assert summary["frames"] == 60 and summary["stamps_unreadable"] == 0
    assert 150 <= summary["g2g_ms"]["p50"] <= 160, summary["g2g_ms"]
    assert summary["g2g_ms"]["p95"] <= 250  # loose: a shared machine has scheduling spikes
    assert summary["freezes"] == 1
    assert summary["freeze_ms"] == pytest.approx(16 * 1000 / FPS, abs=100)  # abs: shared-machine spikes
    assert summary["frames_skipped"] == 15
    assert summary["psnr_db"]["p50"] > 30
    assert summary["fps"] == pytest.approx(59 / (74 / FPS), rel=0.05)


def test_frame_accounting_follows_a_pre_encoded_loop_wrapping_its_counter() -> None:
    probe = VideoProbe(source_size=(160, 90), counter_modulus=300)
    for i, n in enumerate((298, 299, 0, 2, 1)):
        frame = av.VideoFrame.from_ndarray(render(n, 5 * n, 160, 90), format="yuv420p")
        probe.frame(frame, 1_000_000_000.0 + i / FPS)
    assert probe.summary()["frames_skipped"] == 1
    assert probe.summary()["frames_reordered"] == 1
