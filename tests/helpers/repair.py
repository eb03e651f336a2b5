"""For tests of how a real Chromium patient's received video survives loss: its receive counters, the
consumer of the doctor's video at the patient (the original, adaptation stopped, so the test sets FEC and
resends itself), and a resend allowance that refuses every repair."""

from __future__ import annotations

from aiohttp import web
from playwright.async_api import Page

from media.sfu.consumer import Consumer
from signaling import keys
from tests.conftest import wait_until

RECEIVED_VIDEO_JS = """
async () => {
  const pc = window.vaidya.subscribePc;
  if (!pc) return null;
  const out = { framesDecoded: 0, frameWidth: 0, pliCount: 0, nackCount: 0, packetsLost: 0, packetsReceived: 0,
                fecPacketsReceived: 0, fecPacketsDiscarded: 0, freezeCount: 0, totalFreezesDuration: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    for (const k of Object.keys(out)) out[k] = k === "frameWidth" ? Math.max(out[k], s[k] || 0) : out[k] + (s[k] || 0);
  });
  return out;
}
"""


class NoResends:
    """A resend allowance that refuses every repair."""

    def take(self, nbytes: int, kind: str) -> bool:
        return False


async def received_video(page: Page) -> dict:
    """The page's inbound video counters, summed over its subscribe connection's video streams."""
    return await page.evaluate(RECEIVED_VIDEO_JS)


async def doctors_original_at_patient(app: web.Application, room_name: str, page: Page) -> Consumer:
    """Once Dr Asha's video decodes on patient Gita's `page`: the consumer forwarding it to her, on the
    original stream, with her adaptation stopped."""

    async def decoding() -> dict | None:
        s = await received_video(page)
        return s if s and s["framesDecoded"] > 30 else None

    await wait_until(decoding, "the doctor's video at the patient", timeout=30)
    room = app[keys.REGISTRY].get(room_name)
    doctor_id = next(p.id for p in room.participants.values() if p.identity == "dr-asha")
    patient = next(p for p in room.participants.values() if p.identity == "pt-gita")
    producer = next(p for p in room.producers() if p.owner_id == doctor_id and p.kind == "video")
    consumer = next(c for c in room.router.consumers_showing(producer.id) if c.subscriber_id == patient.id)
    if patient.allocator is not None:
        patient.allocator.close()
    consumer.switch_source(producer)
    consumer.resume()
    return consumer
