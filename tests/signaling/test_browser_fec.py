"""A real Chromium patient accepts RED + ULPFEC in its subscribe answer and repairs lost video from it.

The server drops one video packet in ten on the way to the patient and resends nothing (its resend
allowance refuses every repair): with FEC at one packet per four, Chromium recovers
the losses and keeps decoding without asking for keyframes; with the same loss and FEC off (media still in
RED), it cannot, and it asks for keyframes and decodes far fewer frames. (Chromium still sends a NACK for
each loss — it asks as soon as it sees the gap, before the group's FEC packet arrives — but nothing is
resent, so the picture owes its repair to FEC alone.) Nothing here is simulated: the
server's own consumer, port and packetizer, and Chromium's own receiver. (Without FEC the server sends
keyframes for the losses it will not resend, before Chromium's 3 s wait makes it ask.)
"""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import web
from playwright.async_api import Browser

from bench.browser_link import through_link
from bench.profiles import LinkProfile
from bench.shaper_process import ShaperProcess
from media.adaptive.fec_policy import MAX_RATE, MIN_RATE
from media.sfu.ulpfec import header_size
from signaling import keys
from tests.conftest import wait_until
from tests.helpers.browser import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    doctor_and_patient,
    frames_decoded_over,
    open_page,
    token_link,
)
from tests.helpers.repair import NoResends, doctors_original_at_patient, received_video

pytestmark = [pytest.mark.timeout(150), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

MEASURE_S = 6.0


async def test_chromium_repairs_lost_video_packets_from_ulpfec_without_resends(
    live_app: tuple[str, str, web.Application], browser: Browser
) -> None:
    base_url, secret, app = live_app
    errors: list[str] = []
    patient_page = await doctor_and_patient(browser, errors, base_url, secret, "opd-fec")

    async def stats() -> dict:
        return await received_video(patient_page)

    consumer = await doctors_original_at_patient(app, "opd-fec", patient_page)  # the test sets the FEC rate

    sender = consumer.port
    assert sender.fec_types is not None, "Chromium's answer did not accept red/90000 and ulpfec/90000"
    vp8 = sender.payload_type
    dropped = [0]
    media_sent = [0]
    send = sender.send

    def lose_one_media_packet_in_ten(data: bytes, payload_size: int) -> None:
        if data[1] & 0x7F == sender.fec_types.red and data[header_size(data)] == vp8:
            media_sent[0] += 1
            if media_sent[0] % 10 == 5:
                dropped[0] += 1
                return
        send(data, payload_size)

    sender.send = lose_one_media_packet_in_ten  # type: ignore[method-assign]
    consumer.retransmit_budget = NoResends()
    port = consumer.protect()
    assert port is not None

    results = {}
    for rate in (0.25, 0.0):
        port.rate = rate
        await asyncio.sleep(1.5)  # past the change
        before, dropped_before, fec_before = await stats(), dropped[0], consumer.stats.fec_packets
        keyframes_before = consumer.stats.keyframes_for_loss
        started = asyncio.get_running_loop().time()
        # at least MEASURE_S, and until ten packets were lost (a loaded machine's camera sends fewer)
        while (elapsed := asyncio.get_running_loop().time() - started) < MEASURE_S or (
                dropped[0] - dropped_before < 10 and elapsed < 3 * MEASURE_S):
            await asyncio.sleep(0.25)
        after = await stats()
        results[rate] = {k: after[k] - before[k] for k in after if k != "frameWidth"}
        results[rate]["dropped"] = dropped[0] - dropped_before
        results[rate]["fec_sent"] = consumer.stats.fec_packets - fec_before
        results[rate]["keyframes_for_loss"] = consumer.stats.keyframes_for_loss - keyframes_before
        results[rate]["seconds"] = asyncio.get_running_loop().time() - started
    with_fec, without = results[0.25], results[0.0]

    def per_s(window: dict, key: str) -> float:
        return window[key] / window["seconds"]

    assert with_fec["dropped"] >= 10 and without["dropped"] >= 10, results  # the loss was there both times
    assert with_fec["packetsLost"] >= 0.8 * with_fec["dropped"], results  # lost on the RTP level, not resent
    assert with_fec["fec_sent"] >= with_fec["dropped"], results
    # every loss repaired: no keyframe needed (asked by Chromium, or sent for a loss not resent)
    assert with_fec["pliCount"] + with_fec["keyframes_for_loss"] <= 1, results
    assert per_s(with_fec, "framesDecoded") >= 8, results  # the picture kept moving
    assert without["fec_sent"] == 0, results
    # the same loss unrepaired breaks the picture: keyframes, sent by the server for the losses it would not
    # resend before Chromium asked
    assert without["keyframes_for_loss"] >= 2, results
    assert per_s(with_fec, "framesDecoded") > 3 * per_s(without, "framesDecoded"), results
    assert per_s(with_fec, "totalFreezesDuration") < 0.5 * per_s(without, "totalFreezesDuration"), results
    # Chromium 156 leaves inbound-rtp's fecPacketsReceived/fecPacketsDiscarded out for ULPFEC (FlexFEC
    # only); when a version reports them, they must count what was sent
    if with_fec["fecPacketsReceived"]:
        assert with_fec["fecPacketsReceived"] >= 0.8 * with_fec["fec_sent"], results
    assert errors == []


LONG_LOSSY = LinkProfile("long and lossy", rate_bps=1_500_000, delay_ms=150, loss=0.03)


async def test_the_allocator_protects_a_long_lossy_link_and_leaves_a_short_clean_one_to_nack(
    live_app: tuple[str, str, web.Application], browser: Browser, shaper: ShaperProcess
) -> None:
    base_url, secret, app = live_app
    link = shaper.add_link(LONG_LOSSY, seed=5)
    errors: list[str] = []
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, "opd-far", "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient")
    await patient.route_web_socket(re.compile(r"/ws$"), through_link(shaper, lambda: link))
    await patient.goto(token_link(base_url, secret, "opd-far", "pt-gita", "patient"))
    await asyncio.gather(assert_decodes_growing_video(patient, "the patient"),
                         assert_decodes_growing_video(doctor, "the doctor"))

    room = app[keys.REGISTRY].get("opd-far")
    far = next(p for p in room.participants.values() if p.identity == "pt-gita")
    near = next(p for p in room.participants.values() if p.identity == "dr-asha")
    assert far.allocator is not None and near.allocator is not None
    [far_video] = [c for c in room.router.consumers_showing(_video_of(room, near.id)) if c.subscriber_id == far.id]
    [near_video] = [c for c in room.router.consumers_showing(_video_of(room, far.id)) if c.subscriber_id == near.id]
    await wait_until(lambda: far.allocator.fec_rate > 0 and far_video.stats.fec_packets > 20,
                     "FEC on the patient's 300 ms, 3 % loss link", timeout=30)
    assert far_video.protected_port() is not None
    assert MIN_RATE <= far.allocator.fec_rate <= MAX_RATE
    assert await frames_decoded_over(patient, 3.0) >= 20  # protected video keeps playing in Chromium
    # the doctor's loopback link: a few milliseconds of round trip, nothing lost: plain forwarding
    assert near.allocator.fec_rate == 0 and near_video.protected_port() is None
    assert near_video.stats.fec_packets == 0
    assert errors == []


def _video_of(room, owner_id: str) -> str:
    return next(p.id for p in room.producers() if p.owner_id == owner_id and p.kind == "video")
