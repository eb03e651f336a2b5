"""Forwarded packets go straight to the nominated pair's socket, not through aiortc's coroutine layers,
and still arrive protected and counted (docs/architecture.md, "The send path")."""

from aiortc.rtcdtlstransport import RTCDtlsTransport

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


async def test_forwarded_media_bypasses_aiortcs_send_path_and_still_arrives(sfu_server, clients, monkeypatch):
    through_aiortc: dict[int, int] = {}  # id of a DTLS transport -> its calls of aiortc's send path
    original = RTCDtlsTransport._send_rtp

    async def counted(self, data: bytes) -> None:
        through_aiortc[id(self)] = through_aiortc.get(id(self), 0) + 1
        await original(self, data)

    monkeypatch.setattr(RTCDtlsTransport, "_send_rtp", counted)
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("direct", token("direct", "patient-1"))
    await pub.publish(NumberedVideoTrack(fps=30), ToneTrack())
    viewer = await clients(sfu_server.ws_url)
    peer = await viewer.join("direct", token("direct", "doctor-1", "doctor"))
    frames = FrameCollector(await wait_until(lambda: peer.track("video"), "the video track"))
    await wait_until(lambda: len(frames.readable()) > 60, "frames through the server")
    await frames.stop()

    room = sfu_server.app[keys.REGISTRY].get("direct")
    consumers = [c for p in room.producers() for c in room.router.consumers_showing(p.id)]
    forwarded = sum(c.stats.packets for c in consumers)
    # on the server's side only its RTCP (sender reports) still takes aiortc's path, not the media
    server_calls = sum(through_aiortc.get(id(c.port._sender.transport), 0) for c in consumers)
    assert forwarded > 150 and server_calls < forwarded / 10, (forwarded, server_calls)
    # the transport's own counters still see every datagram (getStats' bytesSent, packetsSent)
    sent = [c.port._sender.transport._RTCDtlsTransport__tx_packets for c in consumers]
    assert sum(sent) >= forwarded
