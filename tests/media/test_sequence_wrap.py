"""A stream longer than half the RTP sequence space keeps flowing: 32,768 packets is eleven minutes of
audio and about twelve of a laptop's video, shorter than many consultations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from media.sfu.router import Router
from media.sfu.transport import SubscribeTransport
from tests.conftest import wait_until
from tests.helpers.rtp_publisher import VP8_CODEC, RtpPublisher


def _media_packets(viewer: RTCPeerConnection, ssrc: int) -> int:
    """Packets the viewer received on the media SSRC. Not from getStats: aiortc gives every SSRC of a
    receiver one stats id, and once a retransmission came on the RTX stream its count replaced this one."""
    [receiver] = viewer.getReceivers()
    stream = receiver._RTCRtpReceiver__remote_streams.get(ssrc)  # type: ignore[attr-defined]
    return 0 if stream is None else int(stream.packets_received)


async def _settled(count: Callable[[], int], timeout: float = 5.0) -> int:
    """`count()` once it stops growing: the viewer has read what reached its socket."""
    value, deadline = count(), asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        value, before = count(), value
        if value == before:
            break
    return value


async def test_a_consumer_forwards_past_half_the_sequence_space_to_a_real_peer():
    router = Router("long")
    publisher = RtpPublisher(VP8_CODEC, 64, 64)
    producer = router.create_producer("doctor", "video", VP8_CODEC, publisher)
    transport = SubscribeTransport(router, "patient", on_failed=lambda: None, on_change=lambda: None)
    viewer = RTCPeerConnection()
    drains: list[asyncio.Task[None]] = []

    async def drain(track) -> None:  # type: ignore[no-untyped-def]
        while True:
            await track.recv()

    viewer.on("track", lambda track: drains.append(asyncio.ensure_future(drain(track))))
    try:
        consumer = transport.consume(producer)
        offer, _ = await transport.create_offer()
        await viewer.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await viewer.setLocalDescription(await viewer.createAnswer())
        await transport.handle_answer(viewer.localDescription.sdp)
        await wait_until(consumer.port.ready.is_set, "the subscriber's connection")

        await publisher.send_frame(producer)  # a keyframe starts the epoch
        [delta] = publisher.next_frame()  # one packet at 64 × 64: sent again and again with new numbers
        first = delta.sequence_number
        total = 40_000
        received_at: dict[int, int] = {}
        for i in range(total):
            producer.receive_rtp(RtpPacket(
                payload_type=delta.payload_type, marker=1, sequence_number=(first + i) & 0xFFFF,
                timestamp=(delta.timestamp + 3000 * i) & 0xFFFFFFFF, ssrc=delta.ssrc, payload=delta.payload,
            ))
            # let the viewer read its socket (one datagram per loop turn); the thousand that are checked go
            # slower still: the viewer decodes every packet, and on a slow machine (CI, once) it fell behind
            # 100 per turn and its socket's buffer dropped 285 of them
            if i % (100 if i < 39_000 else 10) == 0:
                await asyncio.sleep(0.01)
            if i in (30_000, 39_000):
                received_at[i] = await _settled(lambda: _media_packets(viewer, consumer.port.ssrc))

        assert consumer.stats.packets == total + 1
        # the last thousand packets, 39,000 past the epoch's start, reached the subscriber's peer
        assert await _settled(lambda: _media_packets(viewer, consumer.port.ssrc)) - received_at[39_000] > 900
    finally:
        for task in drains:
            task.cancel()
        await viewer.close()
        await transport.close()
