"""The uplink seam with real aiortc peers over loopback: the REMB a publisher receives is the capped one."""

from __future__ import annotations

import asyncio
import fractions
import random
import time

import numpy as np
import pytest
from av import VideoFrame
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from media.adaptive.uplink import UplinkGovernor, UplinkMeter
from media.sfu.aiortc_bridge import ReceiverTap
from media.sfu.router import Router
from media.sfu.transport import PublishTransport
from tests.conftest import wait_until
from tests.helpers.media import ToneTrack


class BusyVideoTrack(MediaStreamTrack):
    """A busy picture (noise) at 30 fps: the encoder spends its whole budget, as a real camera would."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._noise = np.random.default_rng(5)
        self._sent = 0
        self._start = time.monotonic()

    async def recv(self) -> VideoFrame:
        await asyncio.sleep(max(0.0, self._start + self._sent / 30 - time.monotonic()))
        frame = VideoFrame.from_ndarray(self._noise.integers(0, 256, (240, 320, 3), dtype=np.uint8), format="rgb24")
        frame.pts, frame.time_base = self._sent * 3000, fractions.Fraction(1, 90000)
        self._sent += 1
        return frame


class Publisher:
    """A real aiortc publisher (camera and microphone stand-ins) that records every REMB it receives."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.video = self.pc.addTrack(BusyVideoTrack())
        self.pc.addTrack(ToneTrack())
        self.rembs: list[int] = []
        original = self.video._handle_rtcp_packet

        async def handle_rtcp(packet) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                self.rembs.append(unpack_remb_fci(packet.fci)[0])
            await original(packet)

        self.video._handle_rtcp_packet = handle_rtcp

    async def publish_to(self, transport: PublishTransport) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer, _, _ = await transport.handle_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


def video_tap(transport: PublishTransport) -> ReceiverTap:
    return next(tap for tap in transport.taps.values() if tap.kind == "video")


async def test_the_publisher_receives_the_capped_remb_and_the_estimators_own_value_once_the_cap_lifts():
    transport = PublishTransport(Router("uplink"), "patient", on_failed=lambda: None)
    cap: list[int | None] = [60_000]
    transport.remb_cap = lambda: cap[0]
    publisher = Publisher()
    try:
        await publisher.publish_to(transport)
        tap = video_tap(transport)
        await wait_until(lambda: len(publisher.rembs) >= 3 and (tap.remb_bps or 0) > 60_000,
                         "REMBs at the publisher while the estimate is above the cap", timeout=15)
        assert max(publisher.rembs) == 60_000  # every one capped
        assert tap.remb_sent_bps == 60_000

        cap[0] = None
        await wait_until(lambda: publisher.rembs[-1] > 60_000, "an uncapped REMB", timeout=15)
        # the estimator's own value (REMB's 18-bit mantissa rounds it; a newer one may be on its way)
        assert publisher.rembs[-1] == pytest.approx(tap.remb_bps, rel=0.05)
    finally:
        await publisher.pc.close()
        await transport.close()


async def test_a_floor_raises_the_remb_the_publisher_is_told_and_a_cap_still_wins():
    transport = PublishTransport(Router("uplink"), "patient", on_failed=lambda: None)
    floor: list[int | None] = [None]
    cap: list[int | None] = [None]
    transport.remb_floor = lambda: floor[0]
    transport.remb_cap = lambda: cap[0]
    publisher = Publisher()
    try:
        await publisher.publish_to(transport)
        tap = video_tap(transport)
        await wait_until(lambda: tap.remb_bps, "the estimator's first estimate", timeout=15)
        floor[0] = tap.remb_bps * 4  # the estimator fell while the path showed no queue
        seen = len(publisher.rembs)
        await wait_until(lambda: len(publisher.rembs) > seen + 1, "REMBs under the floor", timeout=15)
        assert publisher.rembs[-1] == pytest.approx(floor[0], rel=0.05)
        assert tap.remb_sent_bps == floor[0] > tap.remb_bps
        cap[0] = tap.remb_bps // 2  # and loss limits the link: the cap wins
        seen = len(publisher.rembs)
        await wait_until(lambda: len(publisher.rembs) > seen + 1, "REMBs under the cap", timeout=15)
        assert publisher.rembs[-1] == pytest.approx(cap[0], rel=0.05)
    finally:
        await publisher.pc.close()
        await transport.close()


async def test_loss_on_the_publishers_link_makes_the_governor_cap_what_the_publisher_is_told():
    transport = PublishTransport(Router("uplink"), "patient", on_failed=lambda: None)
    governor = UplinkGovernor()
    transport.remb_cap = governor.remb_cap
    meter = UplinkMeter(lambda: transport.taps.values())
    publisher = Publisher()
    try:
        await publisher.publish_to(transport)
        tap = video_tap(transport)
        await wait_until(lambda: tap.remb_bps, "the estimator's first estimate", timeout=15)
        meter.sample()
        await asyncio.sleep(1.0)
        clean = meter.sample()
        assert clean is not None and clean.video_bps > 100_000 and 15_000 < clean.audio_bps < 200_000
        assert clean.loss < 0.02 and clean.remb_bps == tap.remb_bps
        governor.update(clean)
        assert governor.remb_cap() is None

        drop = random.Random(3)
        for transceiver in transport.pc.getTransceivers():
            # where the transport hands each decrypted, parsed packet to the SFU (aiortc_bridge.receive_directly)
            receiver = transceiver.receiver

            def lossy(packet, arrival_time_ms: int, deliver=receiver._vaidya_receive) -> None:
                if drop.random() >= 0.3:  # 30 % of the publisher's packets lost
                    deliver(packet, arrival_time_ms)

            receiver._vaidya_receive = lossy
        lossy_samples = []
        for _ in range(6):
            await asyncio.sleep(0.5)
            sample = meter.sample()
            assert sample is not None
            lossy_samples.append(sample)
            governor.update(sample)
        assert all(0.15 < s.loss < 0.45 for s in lossy_samples[1:]), [s.loss for s in lossy_samples]
        assert governor.rung.name != "T0"  # sustained loss took the publisher down a rung

        capped = governor.remb_cap()
        assert capped is not None and capped < tap.remb_bps  # the loss-blind estimate is higher
        seen = len(publisher.rembs)
        await wait_until(lambda: len(publisher.rembs) > seen, "a REMB after the cap", timeout=15)
        assert publisher.rembs[-1] < tap.remb_bps
        assert publisher.rembs[-1] == pytest.approx(tap.remb_sent_bps, rel=0.05)
    finally:
        await publisher.pc.close()
        await transport.close()
