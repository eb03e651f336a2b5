"""Loss on one subscriber's path: repaired by retransmission, bounded, invisible to the others."""

import asyncio
import random

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


class LossyReceive:
    """Drops a fraction of the RTP packets arriving at one client's DTLS transport (after SRTP)."""

    def __init__(self, dtls, fraction: float, seed: int = 7) -> None:
        self.dropped = 0
        self.passed = 0
        self._random = random.Random(seed)
        original = dtls._handle_rtp_data

        async def handle(data, arrival_time_ms):
            if self._random.random() < fraction:
                self.dropped += 1
                return
            self.passed += 1
            await original(data, arrival_time_ms=arrival_time_ms)

        dtls._handle_rtp_data = handle


async def test_five_percent_loss_on_one_path_is_repaired_without_storms_or_harm_to_others(sfu_server, clients):
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("lossy", token("lossy", "patient-1"))
    video = NumberedVideoTrack(fps=30)
    await pub.publish(video, ToneTrack())

    peers = []
    for i in range(3):
        c = await clients(sfu_server.ws_url)
        peers.append(await c.join("lossy", token("lossy", f"doctor-{i}", "doctor")))
    for peer in peers:
        await wait_until(lambda peer=peer: peer.track("video"), "video at each subscriber")
    lossy_peer = peers[0]
    dtls = lossy_peer.subscribe_pc.getTransceivers()[0].receiver.transport
    loss = LossyReceive(dtls, 0.05)

    collectors = [FrameCollector(p.track("video")) for p in peers]
    await wait_until(lambda: all(len(c.readable()) > 5 for c in collectors), "frames everywhere")
    first = video.sent
    await asyncio.sleep(6)
    last = video.sent
    await asyncio.sleep(0.5)

    room = sfu_server.app[keys.REGISTRY].get("lossy")
    producer = next(p for p in room.producers() if p.kind == "video")
    consumers = {c.subscriber_id: c for c in room.router.consumers_of(producer.id)}
    lossy = consumers[lossy_peer.participant_id]
    assert loss.dropped > 20
    assert lossy.stats.retransmitted > 0, "lost packets were repaired"
    assert lossy.stats.retransmitted <= 2 * loss.dropped, (lossy.stats.retransmitted, loss.dropped)

    for peer, frames in zip(peers, collectors):
        window = [n for n in frames.readable() if first <= n < last]
        assert window == sorted(window)
        # The lossy viewer keeps a picture; how much of it depends on aiortc's client, whose jitter buffer
        # gives up on a frame once the next one starts, so a late repair can still cost a frame.
        need = 0.9 if peer is not lossy_peer else 0.6
        assert len(window) >= need * (last - first), (peer.participant_id, len(window), last - first)
        if peer is not lossy_peer:
            assert consumers[peer.participant_id].stats.retransmitted <= 2  # the others need no repair
        await frames.stop()
