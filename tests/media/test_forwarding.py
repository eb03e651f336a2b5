"""Forwarding through the SFU with real aiortc peers over loopback."""

import asyncio

from tests.conftest import wait_until
from tests.helpers.media import AudioCollector, FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


async def test_three_subscribers_receive_every_numbered_frame_in_order(sfu_server, clients):
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("consult", token("consult", "patient-1"))
    video, audio = NumberedVideoTrack(fps=30), ToneTrack()
    await pub.publish(video, audio)

    subscribers = []
    for i in range(3):
        c = await clients(sfu_server.ws_url)
        subscribers.append(await c.join("consult", token("consult", f"doctor-{i}", "doctor")))
    for sub in subscribers:
        await wait_until(lambda sub=sub: len(sub.tracks) == 2, "both tracks at each subscriber")

    collectors = []
    for sub in subscribers:
        collectors.append((FrameCollector(sub.track("video")), AudioCollector(sub.track("audio"))))

    await wait_until(lambda: all(len(v.readable()) > 5 for v, _ in collectors), "first frames at every subscriber")
    first_sent = video.sent
    await asyncio.sleep(4)
    last_sent = video.sent
    await asyncio.sleep(0.5)  # let the last frames arrive

    for frames, sound in collectors:
        numbers = frames.readable()
        window = [n for n in numbers if first_sent <= n < last_sent]
        assert len(window) >= 0.9 * (last_sent - first_sent), (len(window), last_sent - first_sent)
        assert window == sorted(window) and len(set(window)) == len(window)
        assert len(numbers) >= 0.95 * len(frames.numbers)  # stamps survive: what arrives is what was sent
        assert sound.frames > 100 and sound.peak > 1000
        await frames.stop()
        await sound.stop()


async def test_h264_is_forwarded_as_well(sfu_server, clients):
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("h264", token("h264", "patient-1"))
    await pub.publish(NumberedVideoTrack(fps=30), video_codec="H264")  # a phone whose encoder does H.264

    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join("h264", token("h264", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video"), "the H.264 track at the viewer")
    assert "H264" in peer.subscribe_pc.remoteDescription.sdp and "VP8" not in peer.subscribe_pc.remoteDescription.sdp
    frames = FrameCollector(track)
    await wait_until(lambda: len(frames.readable()) > 30, "decoded H.264 frames")
    numbers = frames.readable()
    assert numbers == sorted(numbers)
    await frames.stop()
