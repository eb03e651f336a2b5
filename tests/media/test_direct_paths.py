"""The media plane's direct paths (docs/architecture.md, "The media plane"): forwarded packets go straight to
the nominated pair's socket, not through aiortc's coroutine layers; a publisher's RTP goes from the socket's
callback to the SFU once the transport is up, not through aioice's STUN attempt, its queue and aiortc's
receive loop. Both still arrive protected, in order and counted; RTCP keeps aiortc's path. The
delay-based estimator behind REMB computes what aiortc's does."""

import random

from aiortc.rate import OveruseEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media.sfu.aiortc_bridge import fast_min_frame_period
from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


def count_calls(monkeypatch, method: str) -> dict[int, int]:
    """Calls of one of RTCDtlsTransport's async methods, per transport (by id)."""
    calls: dict[int, int] = {}
    original = getattr(RTCDtlsTransport, method)

    async def counted(self, *args, **kwargs):
        calls[id(self)] = calls.get(id(self), 0) + 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(RTCDtlsTransport, method, counted)
    return calls


async def doctor_watches_a_patient(sfu_server, clients, room_id: str) -> tuple[object, list[int]]:
    """A patient publishes numbered video and a tone; a doctor watches 60 frames. The room and the numbers."""
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join(room_id, token(room_id, "patient-1"))
    await pub.publish(NumberedVideoTrack(fps=30), ToneTrack())
    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join(room_id, token(room_id, "doctor-1", "doctor"))
    frames = FrameCollector(await wait_until(lambda: peer.track("video"), "the video track"))
    await wait_until(lambda: len(frames.readable()) > 60, "frames through the server")
    await frames.stop()
    return sfu_server.app[keys.REGISTRY].get(room_id), frames.readable()


async def test_forwarded_media_bypasses_aiortcs_send_path_and_still_arrives(sfu_server, clients, monkeypatch):
    through_aiortc = count_calls(monkeypatch, "_send_rtp")
    room, _ = await doctor_watches_a_patient(sfu_server, clients, "direct")

    consumers = [c for p in room.producers() for c in room.router.consumers_showing(p.id)]
    forwarded = sum(c.stats.packets for c in consumers)
    # on the server's side only its RTCP (sender reports) still takes aiortc's path, not the media
    server_calls = sum(through_aiortc.get(id(c.port._sender.transport), 0) for c in consumers)
    assert forwarded > 150 and server_calls < forwarded / 10, (forwarded, server_calls)
    # the transport's own counters still see every datagram (getStats' bytesSent, packetsSent)
    sent = [c.port._sender.transport._RTCDtlsTransport__tx_packets for c in consumers]
    assert sum(sent) >= forwarded


async def test_published_media_bypasses_aiortcs_receive_loop_and_is_still_forwarded(sfu_server, clients, monkeypatch):
    through_aiortc = count_calls(monkeypatch, "_handle_rtp_data")
    room, numbers = await doctor_watches_a_patient(sfu_server, clients, "direct-in")

    producers = list(room.producers())
    received = sum(p.stats.packets for p in producers)
    transports = {id(p._upstream._receiver.transport): p._upstream._receiver.transport for p in producers}
    in_aiortc = sum(through_aiortc.get(key, 0) for key in transports)
    # only the first packet of each stream (the one that finds the transport up) takes aiortc's loop
    assert received > 150 and in_aiortc <= 2 * len(producers), (received, in_aiortc)
    # the transport's own counters still see every datagram (getStats' bytesReceived, packetsReceived)
    assert sum(t._RTCDtlsTransport__rx_packets for t in transports.values()) >= received
    # the doctor saw the numbered frames in order: nothing lost or reordered on the way in
    assert numbers == sorted(numbers)


class _Holder:
    def __init__(self) -> None:
        self.estimator = OveruseEstimator()


def test_the_estimators_minimum_frame_period_is_aiortcs():
    rng = random.Random(7)
    ours, theirs = _Holder(), _Holder()
    fast_min_frame_period(ours)
    for _ in range(500):
        ts_delta = rng.choice([rng.uniform(0, 70), 33.3, 20.0, 0.0])
        assert ours.estimator.update_min_frame_period(ts_delta) == theirs.estimator.update_min_frame_period(ts_delta)
    assert ours.estimator.ts_delta_hist == theirs.estimator.ts_delta_hist
