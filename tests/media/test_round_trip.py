"""The round trip to a subscriber, measured from its receiver reports, is the link's, not an artefact of
sender reports that all carry the publisher's reference time (aiortc's own figure came out short or
negative). FEC and resends are decided on it; an ICE check (`SenderPort.ping`) measures the same path
when no report comes (video paused)."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection
from aiortc.clock import current_ntp_time
from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket

from bench.audio_marks import PreencodedAudioTrack
from bench.profiles import LinkProfile
from bench.shaped_peer import shaped_factory
from bench.shaper_process import ShaperProcess
from bench.video_source import PreencodedVideoTrack
from media.sfu.aiortc_bridge import IdleTrack, SenderPort
from signaling import keys
from signaling.client import SignalingClient
from tests.conftest import wait_until
from tests.helpers.server import token

FAR = LinkProfile("far", rate_bps=3_000_000, delay_ms=150, loss=0.0)


async def test_a_sender_report_is_dated_when_it_leaves_on_the_publishers_ntp_rtp_line():
    pc = RTCPeerConnection()
    try:
        port = SenderPort(pc.addTransceiver(IdleTrack("video"), direction="sendonly").sender)
        ref_ntp = current_ntp_time() - (3 << 32)  # the publisher's report, three seconds old
        port.set_sender_report_reference(ref_ntp, 1_000)
        packet = RtcpSrPacket(ssrc=port.ssrc, sender_info=RtcpSenderInfo(ntp_timestamp=ref_ntp, rtp_timestamp=1_000,
                                                                         packet_count=0, octet_count=0))
        port._stamp_sender_report(packet)
        elapsed = (packet.sender_info.ntp_timestamp - ref_ntp) / (1 << 32)
        assert 2.9 < elapsed < 3.5
        assert abs(packet.sender_info.rtp_timestamp - (1_000 + elapsed * 90_000)) <= 1  # on the same line
    finally:
        await pc.close()


async def test_the_round_trip_to_a_far_subscriber_and_to_a_near_one(sfu_server, clients):
    publisher = await (await clients(sfu_server.ws_url)).join("rtt", token("rtt", "doctor-1", "doctor"))
    await publisher.publish(PreencodedVideoTrack(320, 180, 15, 200_000), PreencodedAudioTrack(32_000))
    near = await (await clients(sfu_server.ws_url)).join("rtt", token("rtt", "hub-1", "doctor"))
    with ShaperProcess() as shaper:
        link = shaper.add_link(FAR, seed=3)
        client = await SignalingClient(sfu_server.ws_url, peer_connection_factory=shaped_factory(shaper, link)).connect()
        try:
            far = await client.join("rtt", token("rtt", "patient-1"))
            room = sfu_server.app[keys.REGISTRY].get("rtt")

            def ports() -> dict[str, list[float | None]]:
                out: dict[str, list[float | None]] = {"far": [], "near": []}
                for producer in room.producers():
                    for consumer in room.router.consumers_showing(producer.id):
                        who = {far.participant_id: "far", near.participant_id: "near"}.get(consumer.subscriber_id)
                        if who:
                            out[who].append(consumer.port.rtt)
                return out

            def measured() -> dict[str, list[float | None]] | None:
                seen = ports()
                every = seen["far"] + seen["near"]
                return seen if len(every) == 4 and None not in every else None

            rtts = await wait_until(measured, "round trips to both subscribers", timeout=20)
            await asyncio.sleep(3.0)  # a few more reports into the average
            rtts = ports()
            assert all(0.28 <= r <= 0.6 for r in rtts["far"]), rtts  # 150 ms each way
            assert all(0 < r < 0.1 for r in rtts["near"]), rtts  # loopback

            # an ICE check measures the same path at once, with no media flowing to wait for
            pings: dict[str, list[float | None]] = {"far": [], "near": []}
            for producer in room.producers():
                for consumer in room.router.consumers_showing(producer.id):
                    who = {far.participant_id: "far", near.participant_id: "near"}.get(consumer.subscriber_id)
                    if who:
                        pings[who].append(await consumer.port.ping())
            assert len(pings["far"]) == len(pings["near"]) == 2, pings
            assert all(r is not None and 0.28 <= r <= 0.6 for r in pings["far"]), pings
            assert all(r is not None and 0 < r < 0.1 for r in pings["near"]), pings
        finally:
            await client.close()
