"""A publisher's RTP goes from the socket's callback straight to the SFU once the transport is up, not
through aioice's STUN attempt, its queue and aiortc's receive loop (docs/architecture.md, "The receive
path"); RTCP keeps aiortc's path, and the delay-based estimator behind REMB computes what aiortc's does."""

import random

from aiortc.rate import OveruseEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media.sfu.aiortc_bridge import fast_min_frame_period
from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


class _Holder:
    def __init__(self) -> None:
        self.estimator = OveruseEstimator()


async def test_published_media_bypasses_aiortcs_receive_loop_and_is_still_forwarded(sfu_server, clients, monkeypatch):
    through_aiortc: dict[int, int] = {}  # id of a DTLS transport -> RTP packets aiortc's loop handled
    original = RTCDtlsTransport._handle_rtp_data

    async def counted(self, data: bytes, arrival_time_ms: int) -> None:
        through_aiortc[id(self)] = through_aiortc.get(id(self), 0) + 1
        await original(self, data, arrival_time_ms)

    monkeypatch.setattr(RTCDtlsTransport, "_handle_rtp_data", counted)
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("direct-in", token("direct-in", "patient-1"))
    await pub.publish(NumberedVideoTrack(fps=30), ToneTrack())
    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join("direct-in", token("direct-in", "doctor-1", "doctor"))
    frames = FrameCollector(await wait_until(lambda: peer.track("video"), "the video track"))
    await wait_until(lambda: len(frames.readable()) > 60, "frames through the server")
    await frames.stop()

    room = sfu_server.app[keys.REGISTRY].get("direct-in")
    producers = list(room.producers())
    received = sum(p.stats.packets for p in producers)
    transports = {id(p._upstream._receiver.transport): p._upstream._receiver.transport for p in producers}
    in_aiortc = sum(through_aiortc.get(key, 0) for key in transports)
    # only the first packet of each stream (the one that finds the transport up) takes aiortc's loop
    assert received > 150 and in_aiortc <= 2 * len(producers), (received, in_aiortc)
    # the transport's own counters still see every datagram (getStats' bytesReceived, packetsReceived)
    counted_in = sum(t._RTCDtlsTransport__rx_packets for t in transports.values())
    assert counted_in >= received
    # the doctor saw the numbered frames in order: nothing lost or reordered on the way in
    numbers = [n for n in frames.readable()]
    assert numbers == sorted(numbers)


def test_the_estimators_minimum_frame_period_is_aiortcs():
    rng = random.Random(7)
    ours, theirs = _Holder(), _Holder()
    fast_min_frame_period(ours)
    for _ in range(500):
        ts_delta = rng.choice([rng.uniform(0, 70), 33.3, 20.0, 0.0])
        assert ours.estimator.update_min_frame_period(ts_delta) == theirs.estimator.update_min_frame_period(ts_delta)
    assert ours.estimator.ts_delta_hist == theirs.estimator.ts_delta_hist
