"""VideoTranscoder with real codecs: decode once, encode once per tier, never a corrupt tier."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.adaptive.ladder import DEFAULT_LADDER, Ladder, VideoTier
from media.adaptive.transcoder import VideoTranscoder
from media.sfu.router import Router
from tests.conftest import wait_until
from tests.helpers.rtp_publisher import H264_CODEC, VP8_CODEC, RtpPublisher, TierReceiver


#: A ladder whose T3 runs at 10 fps (the default's runs at 15): frame-rate caps below the input's
TEN_FPS_T3 = Ladder(video=(VideoTier("T2", height=180, kbps=150, fps=15), VideoTier("T3", height=144, kbps=64, fps=10)))


class Room:
    """One publisher into a real Router, and a transcoder on its producer."""

    def __init__(self, codec=VP8_CODEC, width: int = 640, height: int = 480, fps: int = 15,
                 ladder: Ladder = DEFAULT_LADDER) -> None:
        self.router = Router("room")
        self.publisher = RtpPublisher(codec, width, height, fps=fps)
        self.producer = self.router.create_producer("pub", "video", codec, self.publisher)
        self.transcoder = VideoTranscoder(self.router, self.producer, ladder)

    def receiver(self, tier_name: str) -> TierReceiver:
        return TierReceiver(self.router, f"{self.producer.id}/{tier_name}", self.producer.codec)

    async def feed(self, frames: int, drop: set[int] = frozenset(), paced: bool = False) -> None:  # type: ignore[assignment]
        """Send frames one by one, each fully transcoded before the next (so counts are exact)."""
        for _ in range(frames):
            await self.publisher.send_frame(self.producer, drop)
            await wait_until(lambda: self.transcoder.idle, "the codec thread to finish a frame", interval=0.002)
            if paced:
                await asyncio.sleep(1 / self.publisher.fps)

    def close(self) -> None:
        self.transcoder.close()
        self.router.close()


async def _run_t2_with(subscribers: int) -> tuple[Room, list[TierReceiver]]:
    room = Room()
    tier = room.transcoder.acquire("T2")
    receivers = [room.receiver("T2") for _ in range(subscribers)]
    await room.feed(20)
    assert tier.stats.frames == 20
    return room, receivers


async def test_one_decode_per_frame_and_one_encode_per_tier_frame_whether_1_or_10_subscribers() -> None:
    counts = {}
    for subscribers in (1, 10):
        room, receivers = await _run_t2_with(subscribers)
        stats = room.transcoder.stats
        counts[subscribers] = (stats.input_frames, stats.decodes, stats.tiers["T2"].encodes)
        for receiver in receivers:
            assert receiver.frames == 20 and receiver.errors == 0
            assert set(receiver.sizes) == {(240, 180)}
        room.close()
    assert counts[1] == counts[10] == (20, 20, 20)


async def test_two_tiers_come_from_one_decode_and_decode_cleanly_at_their_smaller_sizes() -> None:
    room = Room()
    room.transcoder.acquire("T1")
    room.transcoder.acquire("T2")
    t1, t2 = room.receiver("T1"), room.receiver("T2")
    await room.feed(15)
    stats = room.transcoder.stats
    assert stats.decodes == stats.input_frames == 15
    assert stats.tiers["T1"].encodes == stats.tiers["T2"].encodes == 15
    assert set(t1.sizes) == {(480, 360)} and set(t2.sizes) == {(240, 180)}
    for receiver in (t1, t2):
        assert receiver.errors == 0 and receiver.keyframes == 1
        assert receiver.numbers == list(range(15))  # every stamp readable, in order
    room.close()


async def test_a_tier_is_never_larger_than_the_publishers_picture() -> None:
    room = Room(width=320, height=180)
    room.transcoder.acquire("T1")  # 360p asked of a 180p publisher
    t1 = room.receiver("T1")
    await room.feed(5)
    assert set(t1.sizes) == {(320, 180)} and t1.errors == 0
    assert room.transcoder.tier("T1").output_size == (320, 180)
    room.close()


async def test_each_tier_keeps_its_frame_rate_cap() -> None:
    room = Room(fps=30, ladder=TEN_FPS_T3)
    room.transcoder.acquire("T2")  # 15 fps
    room.transcoder.acquire("T3")  # 10 fps
    t2, t3 = room.receiver("T2"), room.receiver("T3")
    await room.feed(30)
    assert room.transcoder.stats.decodes == 30
    assert room.transcoder.stats.tiers["T2"].encodes == 15 and t2.frames == 15
    assert room.transcoder.stats.tiers["T3"].encodes == 10 and t3.frames == 10
    assert t3.numbers == sorted(t3.numbers) and t3.errors == 0
    room.close()


async def test_fifteen_fps_into_a_ten_fps_tier_gives_ten_not_seven_and_a_half() -> None:
    room = Room(fps=15, ladder=TEN_FPS_T3)
    room.transcoder.acquire("T3")
    await room.feed(30)
    assert room.transcoder.stats.tiers["T3"].encodes == 20
    room.close()


async def test_releasing_the_last_user_stops_the_encoder_and_detaches_the_input() -> None:
    room = Room()
    first = room.transcoder.acquire("T2")
    assert room.transcoder.acquire("T2") is first  # shared, reference counted
    await room.feed(3)
    room.transcoder.release("T2")
    await room.feed(3)
    assert room.transcoder.stats.tiers["T2"].encodes == 6  # one user left: still encoding
    room.transcoder.release("T2")
    assert not room.transcoder.tapped and room.transcoder.active_tiers == []
    await room.feed(3)
    stats = room.transcoder.stats
    assert stats.tiers["T2"].encodes == 6 and stats.decodes == 6 and stats.input_frames == 6
    assert first.closed
    plis = room.publisher.plis
    again = room.transcoder.acquire("T2")  # and it starts again at the next keyframe
    receiver = room.receiver("T2")
    await wait_until(lambda: room.publisher.plis > plis, "a keyframe request for the restart")
    await room.feed(3)
    assert again is not first and receiver.frames == 3 and receiver.errors == 0
    assert room.transcoder.stats.tiers["T2"].encodes == 9  # counted across the restart
    room.close()


async def test_loss_on_the_publishers_stream_asks_a_keyframe_and_no_tier_frame_until_it_decodes() -> None:
    room = Room()
    room.transcoder.acquire("T1")
    t1 = room.receiver("T1")
    await room.feed(5, paced=True)
    assert t1.frames == 5
    plis = room.publisher.plis
    await room.feed(1, drop={0})  # frame 5 loses its first packet
    await room.feed(6, paced=True)
    assert room.transcoder.stats.input_losses == 1
    await wait_until(lambda: room.publisher.plis > plis, "a PLI toward the publisher")
    await room.feed(5, paced=True)
    keyframe_at = next(n for n in room.publisher.keyframes if n > 5)
    assert t1.errors == 0 and t1.losses == 0
    after = t1.numbers[5:]
    assert after and after[0] == keyframe_at  # nothing between the loss and the publisher's keyframe
    assert after == list(range(keyframe_at, room.publisher.sent_frames))
    assert room.transcoder.stats.skipped_frames >= 1
    room.close()


async def test_a_tier_keyframe_request_forces_one_keyframe_and_throttles_a_burst() -> None:
    room = Room()
    tier = room.transcoder.acquire("T2")
    receiver = room.receiver("T2")
    await room.feed(3)
    counters = room.transcoder.stats.tiers["T2"]
    tier.request_keyframe()
    await room.feed(1)
    assert counters.forced_keyframes == 1 and receiver.keyframes == 2
    tier.request_keyframe()
    tier.request_keyframe()
    await room.feed(1)
    assert counters.forced_keyframes == 1  # inside 300 ms of the last one
    await asyncio.sleep(0.3)
    await room.feed(2)
    assert counters.forced_keyframes == 2 and receiver.keyframes == 3  # kept, served once, not lost
    assert receiver.errors == 0
    room.close()


async def test_h264_in_gives_h264_tiers() -> None:
    room = Room(codec=H264_CODEC)
    room.transcoder.acquire("T1")
    room.transcoder.acquire("T2")
    t1, t2 = room.receiver("T1"), room.receiver("T2")
    await room.feed(10)
    stats = room.transcoder.stats
    assert stats.decodes == 10 and stats.tiers["T1"].encodes == stats.tiers["T2"].encodes == 10
    assert set(t1.sizes) == {(480, 360)} and set(t2.sizes) == {(240, 180)}
    assert t1.numbers == list(range(10)) and t2.errors == 0 and t2.keyframes == 1
    room.close()


def test_an_audio_producer_is_refused() -> None:
    router = Router("room")
    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
    producer = router.create_producer("pub", "audio", opus, RtpPublisher(VP8_CODEC, 16, 16))
    with pytest.raises(ValueError):
        VideoTranscoder(router, producer, DEFAULT_LADDER)


async def _burst(room: Room, frames: int) -> None:
    """Frames arriving faster than the codec thread works: all queued before it runs once."""
    packets = [p for _ in range(frames) for p in room.publisher.next_frame()]
    for packet in packets:
        room.producer.receive_rtp(packet)


async def test_a_codec_thread_behind_drops_tier_encodes_but_decodes_every_frame() -> None:
    room = Room()
    room.transcoder.acquire("T2")
    receiver = room.receiver("T2")
    await _burst(room, 10)
    await wait_until(lambda: room.transcoder.idle, "the backlog to drain")
    stats = room.transcoder.stats
    assert stats.decodes == 10  # later frames depend on every one of them
    assert stats.tiers["T2"].encodes == 2 and stats.tiers["T2"].dropped_encodes == 8  # the last two, once caught up
    await room.feed(3)
    assert receiver.frames == 5 and receiver.errors == 0 and receiver.numbers == [8, 9, 10, 11, 12]
    room.close()


async def test_a_backlog_past_its_bound_is_dropped_and_decoding_restarts_at_a_keyframe() -> None:
    room = Room()
    room.transcoder.acquire("T2")
    receiver = room.receiver("T2")
    plis = room.publisher.plis
    await _burst(room, 20)
    stats = room.transcoder.stats
    assert stats.backlog_overflows == 1 and room.transcoder.idle  # never more than the bound waits
    await wait_until(lambda: room.publisher.plis > plis + 1, "a PLI after the overflow")
    await room.feed(4)
    assert stats.decodes == 4 and receiver.numbers == [20, 21, 22, 23] and receiver.errors == 0
    room.close()


async def test_a_frame_the_decoder_rejects_stops_the_tiers_until_the_next_clean_keyframe() -> None:
    room = Room()
    room.transcoder.acquire("T2")
    receiver = room.receiver("T2")
    await room.feed(3, paced=True)
    await room.publisher.send_pli()  # the next frame is a keyframe …
    packets = room.publisher.next_frame()
    first = packets[0].payload
    start = 4 + 3  # after the 4-byte payload descriptor and the 3-byte frame tag: the keyframe start code
    packets[0].payload = first[:start] + b"\x00\x00\x00" + first[start + 3:]  # … whose start code is broken
    plis = room.publisher.plis
    for packet in packets:
        room.producer.receive_rtp(packet)
    await wait_until(lambda: room.transcoder.idle, "the broken frame to be tried")
    assert room.transcoder.stats.decode_errors == 1
    while room.publisher.plis == plis:  # a PLI after the decoder error (throttled upstream)
        await room.feed(1, paced=True)
    await room.feed(3, paced=True)
    keyframe_at = next(n for n in room.publisher.keyframes if n > 3)
    # nothing between the broken keyframe and the next good one: the delta frames in between need it
    assert receiver.numbers == [0, 1, 2, *range(keyframe_at, room.publisher.sent_frames)]
    assert receiver.errors == 0
    room.close()


async def test_a_publisher_changing_resolution_mid_stream_resizes_its_tiers_without_errors() -> None:
    room = Room(width=640, height=480)
    room.transcoder.acquire("T1")
    t1 = room.receiver("T1")
    await room.feed(3)
    room.publisher.resize(320, 240)  # below T1's 360p now: the tier follows the source down
    await room.feed(3)
    room.publisher.resize(1280, 720)
    await room.feed(3)
    assert t1.sizes == [(480, 360)] * 3 + [(320, 240)] * 3 + [(640, 360)] * 3
    assert t1.numbers == list(range(9)) and t1.errors == 0
    assert room.transcoder.stats.tiers["T1"].keyframes == 3 and room.transcoder.stats.decode_errors == 0
    room.close()


async def test_closing_the_producer_closes_its_transcoder_and_tiers() -> None:
    room = Room()
    tier = room.transcoder.acquire("T2")
    await room.feed(2)
    room.producer.close()
    assert room.transcoder.closed and tier.closed and not room.transcoder.tapped
    room.transcoder.close()  # idempotent
    room.router.close()
