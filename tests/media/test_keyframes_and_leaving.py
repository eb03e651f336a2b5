"""Late joiners, keyframe requests, and publishers leaving."""

import asyncio
import time

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


async def _publish(clients, server, room, identity="patient-1"):
    client = await clients(server.ws_url)
    peer = await client.join(room, token(room, identity))
    video = NumberedVideoTrack(fps=30)
    await peer.publish(video, ToneTrack())
    return client, peer, video


async def test_a_late_joiner_sees_video_within_one_second(sfu_server, clients):
    _, _, video = await _publish(clients, sfu_server, "late")
    await wait_until(lambda: video.sent > 60, "two seconds of publishing")  # the first keyframe is long gone

    late = await clients(sfu_server.ws_url)
    joined_at = time.monotonic()
    peer = await late.join("late", token("late", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video"), "the video track at the late joiner")
    frames = FrameCollector(track)
    await wait_until(lambda: frames.readable(), "a first decoded frame", timeout=5)
    elapsed = frames.arrivals[0] - joined_at
    await frames.stop()
    assert elapsed < 1.0, f"first frame {elapsed:.2f}s after joining"
    producer = sfu_server.app[keys.REGISTRY].get("late").producers()[0]
    assert producer.stats.plis_sent >= 1


async def test_keyframe_requests_toward_a_publisher_are_throttled(sfu_server, clients):
    await _publish(clients, sfu_server, "pli")
    watcher = await clients(sfu_server.ws_url)
    await watcher.join("pli", token("pli", "doctor-1", "doctor"))
    room = sfu_server.app[keys.REGISTRY].get("pli")
    video = next(p for p in room.producers() if p.kind == "video")
    await wait_until(lambda: room.router.consumers_of(video.id), "a consumer of the video")
    await asyncio.sleep(0.6)
    before = video.stats.plis_sent
    consumer = room.router.consumers_of(video.id)[0]
    started = time.monotonic()
    while time.monotonic() - started < 2.0:  # a subscriber asking 100 times a second
        consumer.request_keyframe()
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.6)
    sent = video.stats.plis_sent - before
    assert 3 <= sent <= 6, sent  # at most one per 500 ms, and requests inside a window are not lost


async def test_a_publisher_leaving_ends_subscribers_tracks_and_notifies_them(sfu_server, clients):
    publisher, pub_peer, _ = await _publish(clients, sfu_server, "bye")
    watcher = await clients(sfu_server.ws_url)
    peer = await watcher.join("bye", token("bye", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video"), "the video track")
    frames = FrameCollector(track)
    await wait_until(lambda: frames.readable(), "frames flowing")

    left_at = time.monotonic()
    await pub_peer.leave()
    await wait_until(lambda: watcher.events("bye", "participant-left"), "participant-left", timeout=5)
    await wait_until(lambda: len(watcher.events("bye", "track-unpublished")) == 2, "two track-unpublished", timeout=5)
    await wait_until(lambda: frames.ended, "the subscriber's track to end", timeout=5)
    assert time.monotonic() - left_at < 5
    room = sfu_server.app[keys.REGISTRY].get("bye")
    assert room is not None and not room.producers() and room.router.consumer_count == 0


async def test_a_publisher_whose_socket_dies_is_gone_within_five_seconds(sfu_server, clients):
    publisher, _, _ = await _publish(clients, sfu_server, "drop")
    watcher = await clients(sfu_server.ws_url)
    await watcher.join("drop", token("drop", "doctor-1", "doctor"))
    await wait_until(lambda: watcher.rooms["drop"].tracks, "tracks at the watcher")
    dropped_at = time.monotonic()
    await publisher._ws.close()  # the socket goes; the peer connections are left dangling
    await wait_until(lambda: watcher.events("drop", "participant-left"), "participant-left", timeout=5)
    assert time.monotonic() - dropped_at < 5
    await wait_until(lambda: not sfu_server.app[keys.REGISTRY].get("drop").producers(), "producers closed")


async def test_a_client_that_goes_silent_is_removed_within_five_seconds(sfu_server, clients):
    publisher, pub_peer, _ = await _publish(clients, sfu_server, "silent")
    watcher = await clients(sfu_server.ws_url)
    await watcher.join("silent", token("silent", "doctor-1", "doctor"))
    await wait_until(lambda: watcher.rooms["silent"].tracks, "tracks at the watcher")
    # The publisher's machine vanishes: no close frame, no pongs, no media.
    publisher._ws._response.connection.transport.pause_reading()
    publisher._ws._reader_task = None
    await pub_peer.publish_pc.close()
    gone_at = time.monotonic()
    await wait_until(lambda: watcher.events("silent", "participant-left"), "participant-left", timeout=6)
    assert time.monotonic() - gone_at < 5.0  # 3.5 s of silence, checked twice a second


async def test_a_publisher_whose_media_path_dies_is_removed_although_its_socket_lives(sfu_server, clients):
    publisher, pub_peer, _ = await _publish(clients, sfu_server, "mute-path")
    watcher = await clients(sfu_server.ws_url)
    await watcher.join("mute-path", token("mute-path", "doctor-1", "doctor"))
    await wait_until(lambda: watcher.rooms["mute-path"].tracks, "tracks at the watcher")
    dtls = pub_peer.publish_pc.getTransceivers()[0].sender.transport

    async def black_hole(data):  # the uplink dies; the WebSocket keeps answering pings
        return None

    dtls._send_rtp = black_hole
    cut_at = time.monotonic()
    await wait_until(lambda: watcher.events("mute-path", "participant-left"), "participant-left", timeout=6)
    assert time.monotonic() - cut_at < 5.0
    left = [e for e in publisher.events("mute-path", "left")] if "mute-path" in publisher.rooms else []
    assert not publisher.closed
    assert left == [] or left[-1]["reason"] == "media_timeout"
