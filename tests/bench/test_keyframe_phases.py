"""The pre-encoded loop answers a keyframe request within a second ÷ its keyframe phases, moving between
copies of the loop only at a keyframe, so every frame a decoder sees is predicted from its own copy."""

import asyncio

import av

from bench import stamp
from bench.video_source import PreencodedVideoTrack, encode_loop

FPS = 15


def test_a_shifted_copy_has_its_keyframes_where_asked_and_the_same_length():
    first, shifted = encode_loop(160, 90, FPS, 100_000), encode_loop(160, 90, FPS, 100_000, None, 4)
    count = stamp.STAMP_PERIOD_MS * FPS // 1000
    assert len(first) == len(shifted) == count
    assert [n for n, f in enumerate(first) if f.keyframe] == list(range(0, count, FPS))
    assert [n for n, f in enumerate(shifted) if f.keyframe] == [0] + list(range(4, count, FPS))


async def test_a_keyframe_request_is_answered_within_a_quarter_second_at_a_keyframe_of_another_copy():
    track = PreencodedVideoTrack(160, 90, FPS, 100_000, keyframe_phases=4)
    track._clock.wait = _no_wait  # type: ignore[method-assign]
    sent: list[tuple[bool, int]] = []  # (keyframe, the copy it came from)

    async def send() -> bool:
        packet = await track.recv()
        copy = next(i for i, loop in enumerate(track._loops) if loop is track._frames)
        sent.append((_is_keyframe(packet), copy))
        return sent[-1][0]

    for _ in range(FPS + 2):  # past the first keyframe
        await send()
    waits = []
    for _ in range(6):
        track.request_keyframe()
        for ahead in range(FPS):
            if await send():
                waits.append(ahead)
                break
        for _ in range(5):
            await send()
    assert len(waits) == 6 and max(waits) <= FPS // 4, waits  # one copy alone: up to 14 frames
    assert len({copy for _, copy in sent}) > 1
    for (_, before), (keyframe, copy) in zip(sent, sent[1:]):
        assert copy == before or keyframe  # copies change only at a keyframe
    decoder = av.CodecContext.create("libvpx", "r")
    assert all(decoder.decode(av.Packet(f.data)) for f in track._loops[1][:FPS])  # the copies decode


def _is_keyframe(packet: av.Packet) -> bool:
    return not bytes(packet)[0] & 1  # VP8's frame tag: bit 0 clear on a keyframe (RFC 6386)


async def _no_wait(offset_ms: float, lap: int) -> float:
    await asyncio.sleep(0)
    return 0.0
