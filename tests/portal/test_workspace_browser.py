"""The doctor's consult workspace in a real Chromium at 1280×800, with a real patient's room page (fake
camera) in a second context: "the patient has joined" only once the patient's media arrives (not when a
page without camera or microphone enters the room), the connection quality is shown, and a prescription is
found by brand, refused with its problems inline, then signed, all while the patient's video keeps
decoding on the same page. axe finds nothing serious; the page fits a tablet without sideways scrolling."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from portal import storage as st
from tests.conftest import wait_until
from tests.helpers.axe import HAVE_AXE, NO_AXE, assert_accessible
from tests.helpers.browser import frames_decoded_over, inbound_video, sized_page
from tests.portal.conftest import staff_login_on_page
from tests.portal.test_doctor import queued_patient
from tests.portal.test_hub_spoke import refer

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
    pytest.mark.skipif(not HAVE_AXE, reason=NO_AXE),
]

NO_DEVICES_JS = ("navigator.mediaDevices.getUserMedia = () => "
                 "Promise.reject(new DOMException('no devices here', 'NotFoundError'));")
PRESENCE_JS = "() => document.getElementById('ws-presence').dataset.state"
# What the workspace has received from the patient right now (the same stats its status is made from).
PATIENT_MEDIA_JS = """async () => {
  const { mediaFromPatient } = await import('/portal/static/workspace-media.js');
  const s = window.vaidya.session;
  return s && s.subscribePc ? mediaFromPatient(s.subscribePc, s) : null;
}"""
SCROLL_WIDTH_JS = "() => document.documentElement.scrollWidth"


async def _workspace(server, clinic, chromium):
    """Dr Hindi logs in, admits Meena from the dashboard and opens the workspace; returns the page, the
    patient's browser (HTTP) and token."""
    patient, _, tid = await queued_patient(server, "9000000001", clinic.gen, "hi", "Meena")
    desk, base, errors = await _open_workspace(server, chromium, "dr-hindi")
    return desk, patient, tid, base, errors


async def _open_workspace(server, chromium, doctor: str):
    """The doctor logs in at 1280×800, admits the next patient from the dashboard and opens the workspace."""
    base = str(server.server.make_url("")).rstrip("/")
    desk = await sized_page(chromium, 1280, 800, phone=False)
    errors: list[str] = []
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    await staff_login_on_page(desk, base, doctor)
    await desk.wait_for_url("**/portal/doctor")
    await desk.click("form[action='/portal/doctor/admit'] button.main")
    await desk.wait_for_url("**/portal/doctor")
    await desk.click("a[href^='/portal/doctor/consultations/']")
    await desk.wait_for_url("**/portal/doctor/consultations/*")
    await desk.wait_for_function("window.vaidya.session && window.vaidya.session.state === 'joined'")
    await desk.wait_for_selector("#ws-rx-form form input[name=m0_generic_name]")
    return desk, base, errors


async def test_the_patient_joins_when_their_media_arrives_and_the_doctor_signs_in_the_call(server, clinic, chromium):
    desk, patient, tid, base, errors = await _workspace(server, clinic, chromium)
    assert await desk.evaluate(PRESENCE_JS) == "waiting"
    assert (await desk.text_content("#ws-presence")).strip() == "Waiting for the patient to answer…"
    resp, body = await patient.api("POST", f"/portal/api/tokens/{tid}/call")
    room_url = base + body["room_url"]

    # The patient's page is in the room but sends nothing (no camera, no microphone): not "joined".
    silent = await sized_page(chromium, 360, 640, phone=True)
    await silent.add_init_script(NO_DEVICES_JS)
    await silent.goto(room_url, wait_until="commit")
    await desk.wait_for_function(f"({PRESENCE_JS})() === 'connecting'")
    await asyncio.sleep(2.5)
    assert await desk.evaluate(PRESENCE_JS) == "connecting"
    await silent.context.close()

    phone = await sized_page(chromium, 360, 640, phone=True)
    await phone.goto(room_url, wait_until="commit")
    await desk.wait_for_function(f"({PRESENCE_JS})() === 'joined'", timeout=25_000)
    media = await desk.evaluate(PATIENT_MEDIA_JS)
    assert media["framesDecoded"] > 0 or media["audioPackets"] > 0, media
    assert (await desk.text_content("#ws-presence")).strip() == "The patient has joined"
    await wait_until(lambda: _decoding(desk), "the workspace to decode the patient's video", timeout=15.0)
    quality = await desk.locator("#ws-quality").get_attribute("class")
    words = (await desk.text_content("#ws-quality-words")).strip()
    assert any(level in quality for level in ("good", "weak", "poor")), quality
    assert words in ("Good connection", "Weak connection", "Poor connection"), words
    assert "fps" in await desk.text_content("#ws-quality-detail")

    url = desk.url
    name = desk.locator("#ws-rx-form input[name=m0_generic_name]")
    await name.press_sequentially("dolo", delay=30)
    suggestion = desk.locator("#ws-rx-form input[name=m0_generic_name] + .suggestions .suggestion").first
    await suggestion.wait_for()
    assert "Paracetamol" in await suggestion.text_content()
    await suggestion.click()
    assert await name.input_value() == "Paracetamol"
    for field, value in (("m0_strength", "500 mg"), ("m0_form", "tablet"), ("m0_dose", "1 tablet"),
                         ("m0_duration_days", "3"), ("m0_quantity", "9"), ("diagnosis", "Acute viral fever")):
        await desk.fill(f"#ws-rx-form [name={field}]", value)
    await desk.select_option("#ws-rx-form [name=m0_frequency]", "TDS")
    await desk.click("#ws-rx-form button[type=submit]")  # the age is not confirmed yet
    await desk.wait_for_selector("#ws-rx-problems li")
    assert "Confirm the patient's age before signing." in await desk.text_content("#ws-rx-problems")
    assert await desk.text_content("#ws-rx-result") == ""
    await assert_accessible(desk)  # with the problems and suggestions shown, the call running

    await desk.check("#ws-rx-form [name=age_confirmed]")
    await desk.click("#ws-rx-form button[type=submit]")
    await desk.wait_for_function("document.getElementById('ws-rx-result').dataset.id")
    rx_id = await desk.evaluate("document.getElementById('ws-rx-result').dataset.id")
    link = desk.locator(f"#ws-rx-result a[href='/rx/{rx_id}.pdf']")
    assert await link.count() == 1
    assert await desk.locator("#ws-rx-problems li").count() == 0
    assert desk.url == url, "signing did not navigate away"
    assert await frames_decoded_over(desk, 2.0) >= 10, "the patient's video still plays after signing"
    assert await desk.evaluate(PRESENCE_JS) == "joined"
    await desk.wait_for_selector(f"#ws-history li:has-text('{rx_id}')")  # the summary lists it at once
    assert errors == [], errors


async def test_hold_and_resume_stay_on_the_page_and_pause_the_call_and_it_fits_a_tablet(server, clinic, chromium):
    desk, *_ = await _workspace(server, clinic, chromium)
    url = desk.url
    item = desk.locator(".ws-list li.here")
    await item.locator(".ws-hold button").click()
    await desk.wait_for_function("window.vaidya.session.pausedKind === null")  # sending paused, this room
    assert (await item.locator(".ws-state").text_content()).strip() == "On hold"
    cid = int(url.rsplit("/", 1)[1])
    assert (await server.portal.db.run(lambda conn: st.get_consultation(conn, cid))).status.value == "held"
    assert await item.locator(".ws-resume").is_visible() and not await item.locator(".ws-hold").is_visible()
    await item.locator(".ws-resume button").click()
    await desk.wait_for_function("window.vaidya.session.pausedKind === undefined")
    assert (await item.locator(".ws-state").text_content()).strip() == "Called", "not 'in the room' unanswered"
    assert desk.url == url and await desk.evaluate("window.vaidya.session.state") == "joined"
    await assert_accessible(desk)

    # The doctor's own link drops: the page says so (not "waiting for the patient"), then rejoins by itself.
    await desk.evaluate("window.vaidya.client._ws.close()")
    await desk.wait_for_function(f"({PRESENCE_JS})() === 'reconnecting'")
    await desk.wait_for_function(f"({PRESENCE_JS})() === 'waiting'")
    assert await desk.evaluate("window.vaidya.session.state") == "joined"
    for width, height in ((1280, 800), (1024, 768), (800, 1280)):
        await desk.set_viewport_size({"width": width, "height": height})
        assert await desk.evaluate(SCROLL_WIDTH_JS) <= width, f"sideways scrolling at {width}×{height}"
        box = await desk.locator("#ws-remote").bounding_box()
        assert box and box["width"] >= 240 and box["y"] + box["height"] <= height, (width, box)
        submit = await desk.locator("#ws-rx-form button[type=submit]").bounding_box()
        assert submit and submit["x"] + submit["width"] <= width
    await desk.set_viewport_size({"width": 1024, "height": 768})
    await desk.locator("#ws-rx-form button[type=submit]").scroll_into_view_if_needed()
    box = await desk.locator("#ws-remote").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768, "the video stays in view beside the form"


async def _decoding(page) -> dict | None:
    video = await inbound_video(page)
    return video if video and video["framesDecoded"] > 0 and video["frameWidth"] > 0 else None


async def test_in_a_hub_call_the_health_workers_device_is_the_patients_side(server, clinic, chromium):
    hw = await server.browser()
    await hw.staff_login("hw-1")
    resp, _ = await refer(hw, clinic.hub)
    assert resp.status == 303
    desk, base, errors = await _open_workspace(server, chromium, "dr-heart")
    assert await desk.evaluate(PRESENCE_JS) == "waiting"
    cid = int(desk.url.rsplit("/", 1)[1])
    token_id = (await server.portal.db.run(lambda conn: st.get_consultation(conn, cid))).token_id
    resp, links = await hw.api("GET", f"/portal/api/hw/tokens/{token_id}/room")
    spoke = await sized_page(chromium, 1280, 800, phone=False)
    await spoke.goto(base + links["room_url"], wait_until="commit")
    await desk.wait_for_function(f"({PRESENCE_JS})() === 'joined'", timeout=25_000)
    await wait_until(lambda: _decoding(desk), "the specialist to decode the spoke's video", timeout=15.0)
    shown = await desk.evaluate(MAIN_VIDEO_JS)
    assert shown == [f"hw:{clinic.hws['hw-1']}"], shown
    assert errors == [], errors


# Whose video the large player shows (identities of the participants whose video tracks it holds).
MAIN_VIDEO_JS = """() => {
  const s = window.vaidya.session;
  const ids = document.getElementById('ws-remote').srcObject.getVideoTracks().map((t) => t.id);
  return [...s.remote.values()].filter((r) => ids.includes(r.track.id))
    .map((r) => s.participants.get(r.producer.participant_id).identity);
}"""


# (packets received, lost over the second; jitter s; fps; the server's quality for the patient's video) → level
QUALITY_CASES = [
    ((100, 0, 0.004, 15, None), "good"),
    ((100, 0, 0.004, 15, {"tier": "T2", "reason": "pinned"}), "good"),  # the doctor's own choice, not the link
    ((96, 4, 0.004, 15, None), "weak"),
    ((100, 0, 0.080, 15, None), "weak"),
    ((100, 0, 0.004, 8, None), "weak"),
    ((100, 0, 0.004, 15, {"tier": "T2", "reason": "network"}), "weak"),
    ((88, 12, 0.004, 15, None), "poor"),
    ((100, 0, 0.004, 3, None), "poor"),
    ((100, 0, 0.004, 15, {"tier": "A", "reason": "network"}), "poor"),
]
LEVEL_JS = """async ([received, lost, jitter, fps, quality]) => {
  const { connectionLevel } = await import('/portal/static/workspace-media.js');
  const before = { packetsReceived: 1000, packetsLost: 10, framesDecoded: 500 };
  const now = { packetsReceived: 1000 + received, packetsLost: 10 + lost, framesDecoded: 500 + fps,
                jitter, fps, video: true };
  return connectionLevel(before, now, 1, quality);
}"""


async def test_the_connection_words_follow_loss_jitter_frame_rate_and_the_servers_tier(server, chromium):
    base = str(server.server.make_url("")).rstrip("/")
    page = await sized_page(chromium, 1280, 800, phone=False)
    await page.goto(f"{base}/portal/staff/login")
    found = [(case, (await page.evaluate(LEVEL_JS, list(case)))["level"]) for case, _ in QUALITY_CASES]
    assert found == [(case, level) for case, level in QUALITY_CASES]
    detail = (await page.evaluate(LEVEL_JS, [96, 4, 0.012, 14, None]))["detail"]
    assert detail == "4.0 % · 12 ms · 14 fps"
