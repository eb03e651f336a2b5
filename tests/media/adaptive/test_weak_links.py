"""Adaptation end to end: real aiortc peers, one of them behind the bench's shaping relay.

The publisher sends what a laptop sends (640×360 VP8 at ~500 kbit/s, Opus at 32 kbit/s). A subscriber on
loopback keeps the original; one on a 2G-like link is moved to a shared transcoded tier, its resends stay
within 1.5× what the link lost, and it stays in the consultation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.audio_marks import PreencodedAudioTrack
from bench.profiles import LinkProfile, get_profile
from bench.shaped_peer import shaped_factory
from bench.shaper_process import ShaperProcess
from bench.video_source import PreencodedVideoTrack
from media.adaptive.tier import TierSource
from signaling import keys
from signaling.client import SignalingClient
from tests.conftest import wait_until
from tests.helpers.server import token


@pytest.fixture
def shaper() -> Iterator[ShaperProcess]:
    with ShaperProcess() as process:
        yield process


async def _laptop_publisher(clients, url: str, room: str):
    client = await clients(url)
    peer = await client.join(room, token(room, "doctor-1", "doctor"))
    await peer.publish(PreencodedVideoTrack(640, 360, 15, 500_000), PreencodedAudioTrack(32_000))
    return peer


async def _shaped_subscriber(url: str, room: str, identity: str, shaper: ShaperProcess, profile: LinkProfile):
    link = shaper.add_link(profile, seed=11)
    client = await SignalingClient(url, peer_connection_factory=shaped_factory(shaper, link)).connect()
    peer = await client.join(room, token(room, identity))
    return client, peer, link


def _video_consumer(room, producer_owner: str, subscriber_id: str):
    producer = next(p for p in room.producers() if p.owner_id == producer_owner and p.kind == "video")
    return next(c for c in room.router.consumers_showing(producer.id) if c.subscriber_id == subscriber_id)


async def test_a_lan_and_a_2g_subscriber_of_one_publisher_get_different_tiers_at_once(sfu_server, clients, shaper):
    doctor = await _laptop_publisher(clients, sfu_server.ws_url, "mixed")
    lan = await (await clients(sfu_server.ws_url)).join("mixed", token("mixed", "hub-1", "doctor"))
    client, weak, link = await _shaped_subscriber(sfu_server.ws_url, "mixed", "patient-1", shaper, get_profile("2g"))
    try:
        room = sfu_server.app[keys.REGISTRY].get("mixed")
        await wait_until(lambda: weak.track("video") and lan.track("video"), "video at both subscribers", timeout=15)
        quality = await wait_until(
            lambda: [e for e in client.events("mixed", "quality") if e["kind"] == "video"],
            "the 2G subscriber moved off the original", timeout=20)
        assert quality[-1]["tier"] in ("T2", "T3", "A") and quality[-1]["reason"] == "network", quality
        weak_consumer = _video_consumer(room, doctor.participant_id, weak.participant_id)
        lan_consumer = _video_consumer(room, doctor.participant_id, lan.participant_id)
        assert not isinstance(lan_consumer.source, TierSource)  # the good link keeps the original
        assert lan.client.events("mixed", "quality") == []
        if quality[-1]["tier"] != "A":
            assert isinstance(weak_consumer.source, TierSource) and weak_consumer.source.name == quality[-1]["tier"]
            # the picture size follows once the tier has decoded the publisher's first keyframe
            sized = await wait_until(lambda: [e for e in client.events("mixed", "quality")
                                              if e["kind"] == "video" and e["height"]], "the tier's picture size")
            assert sized[-1]["height"] <= 180 and sized[-1]["width"] <= 320, sized[-1]
            sent = weak_consumer.stats.packets
            await wait_until(lambda: weak_consumer.stats.packets > sent + 20, "tier packets to the 2G subscriber")
        down = shaper.stats(link)["down"]
        lost = down["dropped_loss"] + down["dropped_queue"]
        assert weak_consumer.stats.retransmitted <= 1.5 * lost + 5, (weak_consumer.stats, down)
    finally:
        await client.close()


async def test_a_subscriber_on_150_kbit_with_2pct_loss_stays_a_minute_with_resends_within_one_and_a_half_times_lost(
    sfu_server, clients, shaper
):
    doctor = await _laptop_publisher(clients, sfu_server.ws_url, "rural")
    # 2G: 300 ms each way, so ICE consent checks must wait longer than aioice's 0.5 s (aiortc_bridge)
    profile = LinkProfile("rural", rate_bps=150_000, delay_ms=300, loss=0.02)
    client, weak, link = await _shaped_subscriber(sfu_server.ws_url, "rural", "patient-1", shaper, profile)
    try:
        room = sfu_server.app[keys.REGISTRY].get("rural")
        await wait_until(lambda: weak.track("video"), "video at the rural subscriber", timeout=15)
        await asyncio.sleep(60)
        assert weak.participant_id in room.participants, "the subscriber was dropped"
        assert client.events("rural", "left") == []
        mine = [c for p in room.producers() for c in room.router.consumers_showing(p.id)
                if c.subscriber_id == weak.participant_id]
        resent = sum(c.stats.retransmitted for c in mine)
        down = shaper.stats(link)["down"]
        lost = down["dropped_loss"] + down["dropped_queue"]
        assert lost > 0 and resent <= 1.5 * lost, (resent, down)
        audio = next(c for c in mine if c.kind == "audio")
        before = audio.stats.packets
        await asyncio.sleep(1.0)
        assert audio.stats.packets > before  # the voice still flows
    finally:
        await client.close()
