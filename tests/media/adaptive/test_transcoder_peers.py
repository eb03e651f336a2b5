"""The transcoder between real aiortc peers over loopback: a subscriber moves onto a tier and back."""

from __future__ import annotations

import asyncio

from media.adaptive.ladder import DEFAULT_LADDER
from media.adaptive.transcoder import VideoTranscoder
from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack
from tests.helpers.server import token


class SizedFrames(FrameCollector):
    """Stamps, arrival times and picture widths of what the subscriber decodes."""

    def __init__(self, track) -> None:
        self.widths: list[int] = []
        super().__init__(track)

    def on_frame(self, frame) -> None:
        self.widths.append(frame.width)
        super().on_frame(frame)


async def test_a_real_subscriber_moves_onto_a_transcoded_tier_and_back_on_one_track(sfu_server, clients) -> None:
    publisher, viewer = await clients(sfu_server.ws_url), await clients(sfu_server.ws_url)
    peer_a = await publisher.join("tiers", token("tiers", "patient-a"))
    await peer_a.publish(NumberedVideoTrack(fps=30))
    peer = await viewer.join("tiers", token("tiers", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video", peer_a.participant_id), "the patient's video at the doctor")
    frames = SizedFrames(track)
    await wait_until(lambda: len(frames.readable()) > 10, "original frames")
    assert set(frames.widths) == {320}

    room = sfu_server.app[keys.REGISTRY].get("tiers")
    producer = next(p for p in room.producers() if p.owner_id == peer_a.participant_id)
    consumer = next(c for c in room.router.consumers_of(producer.id) if c.subscriber_id == peer.participant_id)
    transcoder = VideoTranscoder(room.router, producer, DEFAULT_LADDER)
    tier = transcoder.acquire("T2")
    switched_at = len(frames.widths)
    consumer.switch_source(tier)
    await wait_until(lambda: 240 in frames.widths[switched_at:], "180p frames on the same track", timeout=5)
    first_small = frames.widths.index(240, switched_at)
    await asyncio.sleep(2.0)

    small = list(zip(frames.widths[first_small:], frames.numbers[first_small:], frames.arrivals[first_small:]))
    assert {w for w, _, _ in small} == {240}  # 320x240 publisher, T2 is 180p
    stamps = [n for _, n, _ in small if n is not None]
    assert len(stamps) >= 0.9 * len(small) and stamps == sorted(stamps)  # clean, in order
    fps = (len(small) - 1) / (small[-1][2] - small[0][2])
    assert 11 <= fps <= 17  # a 30 fps publisher, T2 capped at 15
    stats = transcoder.stats
    # one decode per frame taken in: the frame that arrived last may still be on the codec thread
    await wait_until(lambda: stats.decodes == stats.input_frames - stats.skipped_frames,
                     "each frame taken in decoded once", timeout=2)
    assert stats.decode_errors == 0
    assert stats.tiers["T2"].encodes == tier.stats.frames and stats.tiers["T2"].keyframes >= 1

    back_at = len(frames.widths)
    consumer.switch_source(producer)
    transcoder.release("T2")
    await wait_until(lambda: 320 in frames.widths[back_at:], "the original again", timeout=5)
    encodes = stats.tiers["T2"].encodes
    await asyncio.sleep(0.5)
    assert stats.tiers["T2"].encodes == encodes and not transcoder.tapped  # the tier emptied: encoder stopped
    transcoder.close()
    await frames.stop()
