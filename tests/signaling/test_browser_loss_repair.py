"""A video packet the server will not resend costs a real Chromium patient a moment, not seconds.

Chromium waits up to 3 s for a missing frame before it asks for a keyframe; on 2G that wait froze the
patient's picture for 3.8–4.0 s whenever a resend was refused (measured). The server now sends a keyframe
for a loss it will not repair. Here the server drops single video packets on the way to the patient, seconds
apart, and its resend allowance refuses every repair: Chromium's picture must resume within about a
second of each loss, with the keyframes sent by the server before Chromium asks. Nothing is simulated:
the server's own consumer and port, the doctor's real camera encoder, Chromium's own receiver.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from playwright.async_api import Browser

from tests.conftest import wait_until
from tests.helpers.browser import HAVE_CHROMIUM, NO_CHROMIUM, doctor_and_patient
from tests.helpers.repair import NoResends, doctors_original_at_patient, received_video

pytestmark = [pytest.mark.timeout(150), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

LOSSES = 4
#: Longer than Chromium's own 3 s wait, so each loss's freeze is its own.
LOSS_EVERY_S = 4.0


async def test_a_loss_the_server_will_not_resend_is_repaired_by_a_keyframe_within_a_second(
    live_app: tuple[str, str, web.Application], browser: Browser
) -> None:
    base_url, secret, app = live_app
    errors: list[str] = []
    patient_page = await doctor_and_patient(browser, errors, base_url, secret, "opd-loss")

    async def stats() -> dict:
        return await received_video(patient_page)

    consumer = await doctors_original_at_patient(app, "opd-loss", patient_page)  # no FEC, the test's allowance
    await asyncio.sleep(1.0)
    assert consumer.protected_port() is None

    sender = consumer.port
    vp8 = sender.payload_type
    dropped: list[int] = []
    last_drop = [asyncio.get_running_loop().time()]
    send = sender.send

    def lose_a_packet_now_and_then(data: bytes, payload_size: int) -> None:
        now = asyncio.get_running_loop().time()
        if data[1] & 0x7F == vp8 and now - last_drop[0] >= LOSS_EVERY_S and len(dropped) < LOSSES:
            last_drop[0] = now
            dropped.append(int.from_bytes(data[2:4], "big"))
            return
        send(data, payload_size)

    before = await stats()
    keyframes_before = consumer.stats.keyframes_for_loss
    sender.send = lose_a_packet_now_and_then  # type: ignore[method-assign]
    consumer.retransmit_budget = NoResends()
    await wait_until(lambda: len(dropped) == LOSSES, "the losses", timeout=LOSSES * LOSS_EVERY_S + 10)
    await asyncio.sleep(LOSS_EVERY_S)  # the last loss's repair
    after = await stats()
    window = {k: after[k] - before[k] for k in after if k != "frameWidth"}
    window["keyframes_for_loss"] = consumer.stats.keyframes_for_loss - keyframes_before
    window["dropped"] = len(dropped)

    assert window["packetsLost"] >= LOSSES - 1, window  # lost on the RTP level, and never resent
    assert window["keyframes_for_loss"] >= LOSSES - 1, window  # the server repaired them with keyframes
    assert window["pliCount"] <= 1, window  # before Chromium's own wait made it ask
    # each loss froze the picture for well under Chromium's 3 s wait (a keyframe round trip here)
    assert window["totalFreezesDuration"] < LOSSES * 1.0, window
    assert errors == []
