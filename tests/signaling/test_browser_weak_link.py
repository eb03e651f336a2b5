"""Real Chromium on a weak rural link: the consultation carries on, and loss repair never becomes a storm.

The patient's page reaches the server through bench's shaping UDP relay (its own process): Playwright
intercepts the page's signaling socket and rewrites ICE candidates both ways (bench.ice_rewrite), so the
browser and the server only ever see the relay. Chromium counts the retransmissions it sends and receives
(getStats); the relay counts what it dropped. Chromium repeats NACKs for a lost packet many times under
loss, so these bounds check the server's NACK handling against the real thing, not only against aiortc.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from bench.browser_link import through_link
from bench.profiles import LinkProfile
from bench.shaper_process import ShaperProcess
from tests.conftest import wait_until
from tests.helpers.browser import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    frames_decoded_over,
    open_page,
    token_link,
)

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

WEAK_RURAL = LinkProfile("weak rural", rate_bps=500_000, delay_ms=50, loss=0.03)

# Packets this page sent and received per kind, and the video retransmissions among them.
REPAIRS_JS = """
async () => {
  const out = { sent: { audio: 0, video: 0 }, received: { audio: 0, video: 0 }, resent: 0, reReceived: 0 };
  (await window.vaidya.publishPc.getStats()).forEach((s) => {
    if (s.type !== "outbound-rtp") return;
    out.sent[s.kind] += s.packetsSent || 0;
    if (s.kind === "video") out.resent += s.retransmittedPacketsSent || 0;
  });
  (await window.vaidya.subscribePc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    out.received[s.kind] += s.packetsReceived || 0;
    if (s.kind === "video") out.reReceived += s.retransmittedPacketsReceived || 0;
  });
  return out;
}
"""


def video_losses(dropped: int, packets: dict[str, int]) -> float:
    """The relay drops packets of every kind alike; the video share of one direction's drops."""
    return dropped * packets["video"] / max(1, packets["video"] + packets["audio"])


async def test_a_patient_on_a_slow_lossy_link_sees_and_is_seen_and_repairs_stay_bounded(
    live_server: tuple[str, str], browser: Browser, shaper: ShaperProcess
) -> None:
    base_url, secret = live_server
    link = shaper.add_link(WEAK_RURAL, seed=7)
    errors: list[str] = []
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, "opd-rural", "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient")
    await patient.route_web_socket(re.compile(r"/ws$"), through_link(shaper, lambda: link))
    await patient.goto(token_link(base_url, secret, "opd-rural", "pt-gita", "patient"))

    await asyncio.gather(
        assert_decodes_growing_video(patient, "the patient"), assert_decodes_growing_video(doctor, "the doctor")
    )
    # Both ways keep moving: at least 6 frames a second over four seconds (the fake camera sends ~15).
    patient_frames, doctor_frames = await asyncio.gather(
        frames_decoded_over(patient, 4.0), frames_decoded_over(doctor, 4.0)
    )
    assert patient_frames >= 24 and doctor_frames >= 24, (patient_frames, doctor_frames)

    repairs = await patient.evaluate(REPAIRS_JS)
    link_stats = shaper.stats(link)
    up, down = link_stats["up"], link_stats["down"]
    # The media really went through the shaped link, and the link really lost packets both ways.
    assert up["packets_out"] > 300 and down["packets_out"] > 300, link_stats
    assert up["dropped_loss"] > 0 and down["dropped_loss"] > 0, link_stats
    # Each lost video packet is resent at most about once per round trip: never more than twice the video
    # packets lost on that direction, however often Chromium repeats its NACKs. (Audio is never resent.)
    lost_down = video_losses(down["dropped_loss"], repairs["received"])
    lost_up = video_losses(up["dropped_loss"], repairs["sent"])
    assert repairs["reReceived"] <= 2 * lost_down + 5, (repairs, lost_down)
    assert repairs["resent"] <= 2 * lost_up + 5, (repairs, lost_up)
    assert errors == []


async def patient_behind_a_link_that_dies(
    live_server: tuple[str, str], browser: Browser, shaper: ShaperProcess, room: str, errors: list[str]
) -> tuple[Page, Page, list[int]]:
    """A doctor and a patient whose media runs through a relay link; once both see video, that link dies
    (the signaling socket stays up) and a fresh link is ready for whatever the patient's page does next."""
    base_url, secret = live_server
    links = [shaper.add_link(LinkProfile("rural", rate_bps=1_000_000, delay_ms=30))]
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, room, "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient")
    await patient.route_web_socket(re.compile(r"/ws$"), through_link(shaper, lambda: links[-1]))
    await patient.goto(token_link(base_url, secret, room, "pt-gita", "patient"))
    await asyncio.gather(
        assert_decodes_growing_video(doctor, "the doctor"), assert_decodes_growing_video(patient, "the patient")
    )
    shaper.close_link(links[0])
    links.append(shaper.add_link(LinkProfile("rural again", rate_bps=1_000_000, delay_ms=30)))
    return doctor, patient, links


async def test_a_patient_whose_media_path_dies_comes_back_by_itself_when_a_path_returns(
    live_server: tuple[str, str], browser: Browser, shaper: ShaperProcess
) -> None:
    errors: list[str] = []
    doctor, patient, links = await patient_behind_a_link_that_dies(live_server, browser, shaper, "opd-back", errors)
    first = await doctor.locator(".tile:not(.self)").element_handle()

    # Nobody touches the page: the server notices the silent uplink (media_timeout) and removes the patient,
    # whose page rejoins over the new path; the doctor gets a fresh tile for the patient with moving video
    # (and the patient sees the doctor again).
    await wait_until(lambda: first.evaluate("(el) => !el.isConnected"), "the old patient tile to go", timeout=30.0)
    await doctor.locator(".tile:not(.self) .label", has_text="pt-gita").wait_for(timeout=10_000)
    await asyncio.gather(
        assert_decodes_growing_video(doctor, "the doctor"), assert_decodes_growing_video(patient, "the patient")
    )
    assert shaper.stats(links[-1])["down"]["packets_out"] > 100
    await patient.locator("#status", has_text="In the consultation").wait_for(timeout=5_000)
    assert errors == []


async def test_a_patient_whose_media_path_dies_is_gone_from_the_doctors_page_within_5_s(
    live_server: tuple[str, str], browser: Browser, shaper: ShaperProcess
) -> None:
    errors: list[str] = []
    doctor, _, _ = await patient_behind_a_link_that_dies(live_server, browser, shaper, "opd-gone", errors)
    await doctor.locator(".tile:not(.self)").wait_for(state="detached", timeout=6_000)
