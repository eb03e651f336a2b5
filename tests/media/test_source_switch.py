"""A consumer's source can change mid-stream without renegotiation (what adaptation will use)."""

import asyncio
from typing import Any, NamedTuple

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack
from tests.helpers.server import token


class Switchable(NamedTuple):
    """A viewer watching patient A's video, patient B publishing too, and the viewer's consumer of A."""

    viewer: Any
    frames: FrameCollector
    room: Any
    source_a: Any
    source_b: Any
    consumer: Any


async def _viewer_of_two(sfu_server, clients, name: str) -> Switchable:
    a, b = await clients(sfu_server.ws_url), await clients(sfu_server.ws_url)
    peer_a = await a.join(name, token(name, "patient-a"))
    await peer_a.publish(NumberedVideoTrack(first_number=0))
    peer_b = await b.join(name, token(name, "patient-b"))
    await peer_b.publish(NumberedVideoTrack(first_number=30000))

    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join(name, token(name, "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video", peer_a.participant_id), "A's video at the viewer")
    await wait_until(lambda: peer.track("video", peer_b.participant_id), "B's video at the viewer")
    frames = FrameCollector(track)
    await wait_until(lambda: len(frames.readable()) > 10, "A's frames")

    room = sfu_server.app[keys.REGISTRY].get(name)
    source_a = next(p for p in room.producers() if p.owner_id == peer_a.participant_id)
    source_b = next(p for p in room.producers() if p.owner_id == peer_b.participant_id)
    consumer = next(c for c in room.router.consumers_of(source_a.id) if c.subscriber_id == peer.participant_id)
    return Switchable(viewer, frames, room, source_a, source_b, consumer)


async def test_a_consumer_switches_source_on_the_same_track_without_a_new_offer(sfu_server, clients):
    viewer, frames, room, source_a, source_b, consumer = await _viewer_of_two(sfu_server, clients, "switch")
    assert all(n < 30000 for n in frames.readable())
    offers = len(viewer.events("switch", "offer"))
    switched_at = len(frames.numbers)
    consumer.switch_source(source_b)

    await wait_until(lambda: any(n >= 30000 for n in frames.readable()[-5:]), "B's frames on A's track", timeout=3)
    await asyncio.sleep(1.0)
    after = [n for n in frames.numbers[switched_at:] if n is not None]
    tail = [n for n in after if n >= 30000]
    assert len(tail) > 20 and tail == sorted(tail)  # one continuous, decodable stream from the new source
    assert len(viewer.events("switch", "offer")) == offers  # no renegotiation
    assert consumer in room.router.consumers_of(source_b.id)
    assert consumer not in room.router.consumers_of(source_a.id)
    await frames.stop()


async def test_a_switch_armed_to_repeat_its_keyframe_sends_it_once_more_and_only_that_switch(sfu_server, clients):
    """At a flood's cut the new source's first keyframe enters a full drop-tail queue: it is sent again
    on the RTX stream once the queue has drained. The subscriber keeps one clean stream."""
    _, frames, _, source_a, source_b, consumer = await _viewer_of_two(sfu_server, clients, "repeat")
    assert consumer.port.rtx_payload_type is not None
    consumer.repeat_next_keyframe(0.2)
    switched_at = len(frames.numbers)
    sent_before = consumer.stats.packets
    consumer.switch_source(source_b)
    await wait_until(lambda: consumer.stats.packets > sent_before, "B's keyframe sent")
    await asyncio.sleep(0.1)
    assert consumer.stats.keyframe_packets_repeated == 0  # not before its time
    repeated = await wait_until(lambda: consumer.stats.keyframe_packets_repeated, "the keyframe sent again", timeout=2)
    await asyncio.sleep(1.0)
    assert consumer.stats.keyframe_packets_repeated == repeated  # once
    tail = [n for n in frames.numbers[switched_at:] if n is not None and n >= 30000]
    assert len(tail) > 20 and tail == sorted(tail)  # the copy changed nothing the subscriber shows
    consumer.switch_source(source_a)  # a switch not armed repeats nothing
    await asyncio.sleep(1.0)
    assert consumer.stats.keyframe_packets_repeated == repeated
    await frames.stop()
