"""ICE candidate rewriting: unit cases, and real aiortc peers whose media must cross the relay."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from bench.audio_marks import MarkDetector, PreencodedAudioTrack, to_mono
from bench.ice_rewrite import SdpError, candidate_addresses, rewrite_candidate, rewrite_sdp
from bench.measure import VideoProbe
from bench.profiles import parse_spec
from bench.shaper_process import ShaperProcess
from bench.video_source import PreencodedVideoTrack
from tests.conftest import wait_until

SDP = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=audio 40000 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 10.0.0.5",
        "a=candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host",
        "a=candidate:2 1 tcp 1518280447 10.0.0.5 9 typ host tcptype passive",
        "a=candidate:3 1 udp 1694498815 203.0.113.9 50000 typ srflx raddr 10.0.0.5 rport 40000",
        "a=candidate:4 1 udp 2130706431 10.0.0.6 40001 typ host",
        "m=video 40000 UDP/TLS/RTP/SAVPF 97",
        "c=IN IP4 10.0.0.5",
        "a=candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host",
        "",
    ]
)
MAP = {("10.0.0.5", 40000): ("127.0.0.1", 5001), ("203.0.113.9", 50000): ("127.0.0.1", 5002)}


def test_udp_candidates_are_pointed_at_the_relay_and_the_rest_removed() -> None:
    calls: list[tuple[str, int]] = []

    def translate(addr: tuple[str, int]) -> tuple[str, int] | None:
        calls.append(addr)
        return MAP.get(addr)

    out = rewrite_sdp(SDP, translate)
    assert candidate_addresses(out) == [("127.0.0.1", 5001), ("127.0.0.1", 5002)]
    assert "10.0.0.5" not in out and "203.0.113.9" not in out and " tcp " not in out
    assert "10.0.0.6" not in out, "a candidate the translation declines is dropped"
    assert "raddr" not in out
    assert out.count("m=audio 5001 ") == 1 and out.count("m=video 5001 ") == 1
    assert out.count("c=IN IP4 127.0.0.1") == 2
    assert len(calls) == len(set(calls)), "each address is translated once (one relay socket each)"


def test_a_trickled_candidate_is_rewritten_the_same_way() -> None:
    line = "candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host generation 0"
    assert rewrite_candidate(line, MAP.get) == "candidate:1 1 udp 2130706431 127.0.0.1 5001 typ host generation 0"
    assert rewrite_candidate("candidate:9 1 udp 1 10.9.9.9 1 typ host", MAP.get) is None
    with pytest.raises(SdpError, match="malformed"):
        rewrite_candidate("candidate:1 1 udp", MAP.get)


async def test_a_phone_like_client_through_the_relay_sends_2g_bitrates_and_sees_the_added_delay() -> None:
    client, server = RTCPeerConnection(), RTCPeerConnection()
    client.addTrack(PreencodedAudioTrack(16_000))
    video = PreencodedVideoTrack(160, 90, fps=15, bitrate=100_000)
    client.addTrack(video)
    probe = VideoProbe(source_size=(160, 90), psnr_every=3, counter_modulus=video.counter_modulus)
    marks, tasks = MarkDetector(), []

    async def consume(track) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    probe.frame(frame)
                else:
                    marks.feed(to_mono(frame), time.time())
        except MediaStreamError:
            pass

    server.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track))))
    with ShaperProcess() as shaper:
        link = shaper.add_link(parse_spec("delay=100ms"))
        try:
            await client.setLocalDescription(await client.createOffer())
            offer = rewrite_sdp(client.localDescription.sdp, lambda a: shaper.expose(link, a))
            await server.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await server.setLocalDescription(await server.createAnswer())
            answer = rewrite_sdp(server.localDescription.sdp, lambda a: shaper.route(link, a))
            await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            await wait_until(lambda: probe.frames >= 15, "the first second of video through the relay", 10)
            start, stats0 = time.monotonic(), shaper.stats(link)
            await asyncio.sleep(3.0)
            elapsed, stats1 = time.monotonic() - start, shaper.stats(link)
        finally:
            await client.close()
            await server.close()
            for task in tasks:
                task.cancel()
    up_kbps = (stats1["up"]["bytes_out"] - stats0["up"]["bytes_out"]) * 8 / elapsed / 1000
    assert 80 <= up_kbps <= 200, f"video 100 + Opus 16 kbit/s + headers, not aiortc's 250 + 96: {up_kbps:.0f}"
    assert stats1["down"]["packets_out"] > 0, "RTCP and ICE replies came back through the relay too"
    summary = probe.summary()
    assert summary["stamps_unreadable"] == 0 and summary["frames_skipped"] == 0
    # 100 ms added + aiortc's jitter buffer (it holds a frame until the next one starts: ~1 interval)
    assert 100 <= summary["g2g_ms"]["p50"] <= 100 + 67 + 60, summary["g2g_ms"]
    assert summary["psnr_db"]["p50"] > 30
    # 100 ms added + aiortc's audio jitter buffer (4 packets prefetched: ~80 ms) + Opus delay
    assert len(marks.marks) >= 2 and 100 <= float(np.median([m.latency_ms for m in marks.marks])) <= 250, marks.marks
