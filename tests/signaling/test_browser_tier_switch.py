"""A real Chromium subscriber moved between the original and a transcoded tier on one track: the picture
shrinks and grows back, frames keep coming, and Chromium's decoder never has to ask for a keyframe.

The test moves the consumer itself, through the room's shared renditions (the server's own adaptation for
this patient is closed, so a CPU-starved loopback link cannot choose otherwise); pins and weak links drive
the same `Consumer.switch_source` path (tests/signaling/test_adaptation_messages.py,
tests/media/adaptive/test_weak_links.py).
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from playwright.async_api import Browser

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.browser import HAVE_CHROMIUM, NO_CHROMIUM, doctor_and_patient

pytestmark = [pytest.mark.timeout(150), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

# The patient's inbound video as Chromium decodes it (summed over m-sections, widest picture).
VIDEO_STATS_JS = """
async () => {
  const pc = window.vaidya.subscribePc;
  if (!pc) return null;
  const out = { framesDecoded: 0, frameWidth: 0, pliCount: 0, freezeCount: 0, totalFreezesDuration: 0,
                keyFramesDecoded: 0, framesDropped: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video" || !s.framesDecoded) return;
    for (const k of Object.keys(out)) out[k] = k === "frameWidth" ? Math.max(out[k], s[k] || 0) : out[k] + (s[k] || 0);
  });
  return out;
}
"""


async def test_chromium_follows_two_round_trips_between_the_original_and_a_tier_without_decoder_trouble(
    live_app: tuple[str, str, web.Application], browser: Browser
) -> None:
    base_url, secret, app = live_app
    errors: list[str] = []
    patient_page = await doctor_and_patient(browser, errors, base_url, secret, "opd-tier")
    stats = await wait_until(lambda: _decoding(patient_page, 640), "the doctor's 640-wide video at the patient", timeout=30)

    room = app[keys.REGISTRY].get("opd-tier")
    doctor_id = next(p.id for p in room.participants.values() if p.identity == "dr-asha")
    patient_id = next(p.id for p in room.participants.values() if p.identity == "pt-gita")
    producer = next(p for p in room.producers() if p.owner_id == doctor_id and p.kind == "video")
    consumer = next(c for c in room.router.consumers_showing(producer.id) if c.subscriber_id == patient_id)
    patient = room.participants[patient_id]
    if patient.allocator is not None:
        patient.allocator.close()
    consumer.resume()  # in case the allocator had paused it
    requests_before = consumer.stats.keyframe_requests
    tier = room.renditions.acquire(producer, "T3")

    widths = []
    for source, width_check in ((tier, lambda w: 0 < w <= 256), (producer, lambda w: w == 640),
                                (tier, lambda w: 0 < w <= 256), (producer, lambda w: w == 640)):
        consumer.switch_source(source)
        before = stats["framesDecoded"]
        stats = await wait_until(lambda: _decoding(patient_page, None, width_check), f"the patient on {source.id}",
                                 timeout=15)
        widths.append(stats["frameWidth"])
        await asyncio.sleep(2.0)
        later = await _decoding(patient_page, None)
        assert later["framesDecoded"] >= stats["framesDecoded"] + 10, (source.id, stats, later)  # frames keep coming
        assert later["framesDecoded"] > before
        stats = later

    assert widths[0] <= 256 and widths[1] == 640 and widths[2] <= 256 and widths[3] == 640, widths
    # Every switch starts at a keyframe of the target: Chromium's decoder never asks for one itself.
    assert stats["pliCount"] <= 1, stats
    assert consumer.stats.keyframe_requests - requests_before <= 4 + 1, consumer.stats  # one per switch, ±1
    assert stats["totalFreezesDuration"] < 2.0, stats
    assert errors == []


async def _decoding(page, width: int | None, check=None):
    stats = await page.evaluate(VIDEO_STATS_JS)
    if not stats or not stats["framesDecoded"]:
        return None
    if width is not None and stats["frameWidth"] != width:
        return None
    if check is not None:
        # the current picture: frameWidth of the stream decoding now
        if not check(stats["frameWidth"]):
            return None
    return stats
