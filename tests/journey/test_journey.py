"""The whole journey as people live it, in a real Chromium (fake camera and microphone) against the whole
application: two patients on 360×640 phones register with an OTP, take tokens and watch their place and
wait move; the doctor at 1280×800 logs in, admits and opens the consult workspace; patient and doctor see
and hear each other, chat both ways, and the doctor asks for a photo that arrives intact (SHA-256); the
doctor signs a prescription in the call; the patient downloads the PDF and its QR verifies (the patient's
network dropping for 5 s at the packet level, and the call coming back by itself: test_network_drop.py). In
English and in Hindi. axe-core audits every page visited; a screenshot of every step is saved under
tests/artifacts/journey/<language>/ (ignored by git) for a person to look through."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from tests.conftest import wait_until
from tests.helpers.axe import HAVE_AXE, NO_AXE, assert_accessible
from tests.helpers.browser import (
    DIAGNOSE_JS,
    HAVE_CHROMIUM,
    INBOUND_PEERS_JS,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    sees_and_hears,
    sized_page,
)
from tests.portal.conftest import fill_patient_form, staff_login_on_page
from tests.rx.test_qr_scan import rasterise, read_qr

ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "journey"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM),
    pytest.mark.skipif(not HAVE_AXE, reason=NO_AXE),
]

class Steps:
    """Screenshots of each step, numbered, with the page's axe audit."""

    def __init__(self, language: str) -> None:
        self.folder = ARTIFACTS / language
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    async def step(self, page: Any, name: str, audit: bool = True) -> None:
        self.n += 1
        await page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)
        if audit:
            await assert_accessible(page)


def minutes(text: str) -> int:
    """The number in a wait such as "about 16 minutes" / "लगभग 16 मिनट" (any script's digits)."""
    digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else (" " if not c.isdigit() else c) for c in text)
    found = re.findall(r"\d+", digits)
    assert found, f"no number of minutes in {text!r}"
    return int(found[0])


async def register_and_queue(page: Any, server: Any, base: str, clinic: Any, mobile: str, name: str,
                             language: str, steps: Steps | None) -> None:
    """What a patient does on their phone: OTP login, registration, a token, joining the queue."""
    async def step(label: str) -> None:
        if steps is not None:
            await steps.step(page, label)

    await page.goto(f"{base}/portal/lang?l={language}&next=/portal/")
    await step("start")
    await page.fill("#f-mobile", mobile)
    await page.click("button.main")
    await page.wait_for_url("**/portal/otp")
    await step("otp")
    await page.fill("#f-code", server.last_code(mobile))
    await page.click("button.main")
    await page.wait_for_url("**/portal/me")
    await page.goto(f"{base}/portal/register")
    await step("register")
    await fill_patient_form(page, name, language=language)
    await page.click("button.main")
    await step("registered")
    patient_id = (await page.text_content("strong")).strip()
    await page.goto(f"{base}/portal/patients/{patient_id}/book")
    await step("book")
    await page.check(f"input[name=opd][value='{clinic.gen}']")
    await page.click("button.main")
    await page.wait_for_url("**/portal/tokens/*")
    await page.click("#join-form button")
    await page.wait_for_selector("#join-form", state="hidden")
    await step("queued")


async def sign_prescription(page: Any, within: str = "") -> None:
    """The doctor's prescription, typed into the form as a doctor does (a brand, picked from suggestions);
    `within` is the CSS scope of the form ("#ws-rx-form " in the workspace)."""
    await page.check(f"{within}input[name=age_confirmed]")
    await page.fill(f"{within}input[name=weight_kg]", "58")
    await page.fill(f"{within}input[name=chief_complaints]", "Fever for 2 days")
    await page.fill(f"{within}input[name=diagnosis]", "Acute viral fever")
    name = page.locator(f"{within}input[name=m0_generic_name]")
    await name.press_sequentially("dolo", delay=30)
    await page.locator(f"{within}input[name=m0_generic_name] + .suggestions .suggestion").first.click()
    await page.fill(f"{within}input[name=m0_strength]", "500 mg")
    await page.fill(f"{within}input[name=m0_form]", "tablet")
    await page.fill(f"{within}input[name=m0_dose]", "1 tablet")
    await page.select_option(f"{within}select[name=m0_frequency]", "TDS")
    await page.fill(f"{within}input[name=m0_duration_days]", "3")
    await page.fill(f"{within}input[name=m0_quantity]", "9")
    await page.fill(f"{within}input[name=advice]", "Fluids and rest")


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_the_whole_journey_from_registration_to_a_verified_prescription(
    server, clinic, chromium, tmp_path, language
):
    base = str(server.server.make_url("")).rstrip("/")
    steps = Steps(language)
    gita = await sized_page(chromium, 360, 640, phone=True)
    await register_and_queue(gita, server, base, clinic, "9876543210", "Gita Devi", language, steps)
    ravi = await sized_page(chromium, 360, 640, phone=True)
    await register_and_queue(ravi, server, base, clinic, "9876543211", "Ravi Kumar", language, None)

    # Gita is first, Ravi behind her waits longer
    await wait_until(lambda: ravi.text_content("#wait-text"), "Ravi's wait")
    gita_wait, ravi_wait = minutes(await gita.text_content("#wait-text")), minutes(await ravi.text_content("#wait-text"))
    assert ravi_wait > gita_wait, (gita_wait, ravi_wait)
    await steps.step(ravi, "second-in-line")
    ravi_place = await ravi.text_content("#status-text")

    desk = await sized_page(chromium, 1280, 800, phone=False)
    await staff_login_on_page(desk, base, "dr-hindi")
    await desk.wait_for_url("**/portal/doctor")
    await steps.step(desk, "doctor-dashboard")
    await desk.click("form[action='/portal/doctor/admit'] button.main")
    await desk.wait_for_url("**/portal/doctor")
    await steps.step(desk, "doctor-admitted")

    await gita.wait_for_selector("#call-form", state="visible")
    await steps.step(gita, "called")

    # the doctor opens the consult workspace: the call, Gita's summary and the prescription form on one page
    await desk.click("a[href^='/portal/doctor/consultations/']")
    await desk.wait_for_selector("#ws-rx-form form input[name=m0_generic_name]")
    assert (await desk.text_content("#ws-presence")).strip() == await desk.evaluate("document.getElementById('ws').dataset.wWaiting")
    await gita.click("#call-form button")
    await wait_until(lambda: "/room/" in gita.url, "Gita's call page")
    await desk.wait_for_function("document.getElementById('ws-presence').dataset.state === 'joined'", timeout=30_000)
    await assert_decodes_growing_video(gita, "Gita")
    await assert_decodes_growing_video(desk, "the doctor")
    for who, page in (("Gita", gita), ("the doctor", desk)):
        try:
            await wait_until(lambda page=page: sees_and_hears(page, 1), f"{who} to see and hear the other")
        except AssertionError as exc:
            detail = await page.evaluate("""async () => { const out = []; (await window.vaidya.session.subscribePc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') out.push([s.kind, s.packetsReceived, s.totalSamplesReceived, s.totalAudioEnergy]); }); const v = document.querySelector('video'); return [out, v && v.muted, v && v.paused, v && v.srcObject && v.srcObject.getTracks().map(t => t.kind)]; }""")
            raise AssertionError(f"{exc}: {await page.evaluate(INBOUND_PEERS_JS)} {detail}") from None
    # Gita's screen names the doctor (the name the clinic put in the room token), not an id
    assert "Dr dr-hindi" in await gita.locator(".tile:not(.self) .label").first.text_content()
    await steps.step(gita, "call-patient")
    await steps.step(desk, "workspace-in-call")
    called = await desk.evaluate("document.querySelector('.ws-list li.here .ws-state').dataset.joined")
    assert (await desk.text_content(".ws-list li.here .ws-state")).strip() == called, "the list says she answered"

    # Gita is with the doctor; Ravi is next now, and told the truth: the doctor is with another patient,
    # so his wait is what is left of Gita's consultation, not "1 minute"
    await ravi.wait_for_function("(before) => document.getElementById('status-text').textContent !== before",
                                 arg=ravi_place)
    await ravi.wait_for_selector("#busy-text", state="visible")
    assert minutes(await ravi.text_content("#wait-text")) >= 3
    await steps.step(ravi, "next-doctor-busy")

    # chat both ways
    await desk.fill("#ws-chat-input", "Namaste, how long have you had the fever?")
    await desk.press("#ws-chat-input", "Enter")
    await gita.locator("#chat-log li:has-text('how long have you had the fever')").wait_for(timeout=15_000)
    await gita.fill("#chat-input", "Two days, doctor")
    await gita.press("#chat-input", "Enter")
    await desk.locator(".ws-chat-log li:has-text('Two days, doctor')").wait_for(timeout=15_000)

    # the doctor asks for a photo; Gita's camera takes a full-resolution still; it arrives intact
    await desk.click(".ws-ask-photo")
    await gita.locator("#photo-box").wait_for(state="visible", timeout=15_000)
    await steps.step(gita, "photo-asked")
    await gita.click("#take-photo")
    received = await wait_until(lambda: desk.evaluate("window.vaidya.photosReceived[0]"), "the photo at the doctor",
                                timeout=60)
    sent = await gita.evaluate("window.vaidya.photosSent[0]")
    assert received["sha256"] == sent["sha256"] == received["expected"], (sent, received)
    await steps.step(desk, "photo-received")

    # the doctor signs in the call: the page never leaves it
    await sign_prescription(desk, "#ws-rx-form ")
    await steps.step(desk, "prescription-form")
    await desk.click("#ws-rx-form button[type=submit]")
    await desk.wait_for_function("document.getElementById('ws-rx-result').dataset.id")
    await steps.step(desk, "prescription-signed")
    await assert_decodes_growing_video(gita, "Gita, after the prescription")
    await assert_decodes_growing_video(desk, "the doctor, after the prescription")

    # Gita opens her prescriptions in a new tab, downloads the PDF; its QR verifies
    mine = await gita.context.new_page()
    await mine.goto(f"{base}/rx/mine")
    await steps.step(mine, "my-prescriptions")
    pdf_link = mine.locator("a[href$='.pdf']").first
    pdf = await (await mine.request.get(base + await pdf_link.get_attribute("href"))).body()
    assert pdf.startswith(b"%PDF")
    code = read_qr(rasterise(pdf, 150, tmp_path))
    assert "/rx/verify?c=" in code, code
    pharmacist = await sized_page(chromium, 360, 640, phone=True)
    await pharmacist.goto(base + URL(code).path_qs)
    text = await pharmacist.text_content("body")
    assert "PARACETAMOL" in text.upper() and "Acute viral fever" not in text, text[:400]
    await pharmacist.wait_for_selector(".verdict.valid")
    await steps.step(pharmacist, "verified")


async def test_hub_and_spoke_a_health_worker_brings_a_patient_to_a_specialist_and_prints_the_prescription(
    server, clinic, chromium, tmp_path
):
    base = str(server.server.make_url("")).rstrip("/")
    steps = Steps("hub-and-spoke")
    spoke = await sized_page(chromium, 1024, 768, phone=False)  # the health worker's tablet at the PHC
    await staff_login_on_page(spoke, base, "hw-1")
    await spoke.wait_for_url("**/portal/hw")
    await steps.step(spoke, "spoke")
    # assisted registration: the health worker registers the patient and records her consent
    await spoke.fill("#f-mobile", "9000000009")
    await fill_patient_form(spoke, "Gowramma", age="61", district="Kolar", language="kn")
    await spoke.check("input[name=consent]")
    await spoke.select_option("#f-consent_how", "verbal")
    await steps.step(spoke, "referral-form")
    await spoke.click("form[action='/portal/hw/refer'] button.main")
    await spoke.wait_for_url("**/portal/hw")
    await steps.step(spoke, "referred")

    hub = await sized_page(chromium, 1280, 800, phone=False)
    await staff_login_on_page(hub, base, "dr-heart")
    await hub.wait_for_url("**/portal/doctor")
    await hub.click("form[action='/portal/doctor/admit'] button.main")
    await hub.wait_for_url("**/portal/doctor")
    await steps.step(hub, "specialist-admitted")
    async with hub.context.expect_page() as opened:
        await hub.click("button.call")
    specialist_room = await opened.value

    await spoke.reload()
    async with spoke.context.expect_page() as opened:
        await spoke.click("button.call")
    spoke_room = await opened.value
    links = await (await spoke.request.get(f"{base}/portal/api/hw/tokens/{await _hw_token(spoke)}/room")).json()
    patient = await sized_page(chromium, 360, 640, phone=True)  # the patient's own phone, beside them
    await patient.goto(base + links["patient_room_url"])

    for who, page in (("the specialist", specialist_room), ("the health worker", spoke_room), ("the patient", patient)):
        try:
            await wait_until(lambda page=page: sees_and_hears(page, 2), f"{who} to see and hear the other two",
                             timeout=30)
        except AssertionError as exc:
            quality = await page.evaluate("[...window.vaidya.session.quality.entries()]")
            raise AssertionError(f"{exc}: quality {quality}, "
                                 f"{await page.evaluate(DIAGNOSE_JS)}") from None
    await steps.step(specialist_room, "three-in-the-room-specialist")
    await steps.step(patient, "three-in-the-room-patient")

    # the hub specialist signs; the health worker prints it at the spoke
    await hub.locator("a[href^='/rx/consultations/']").first.click()
    await hub.wait_for_url("**/rx/consultations/*/new")
    await sign_prescription(hub)
    await hub.click("form[data-suggest] button[type=submit]")
    await hub.wait_for_url("**/rx/mine*")
    await spoke.goto(f"{base}/rx/mine")
    await steps.step(spoke, "prescriptions-to-print")
    href = await spoke.locator("a[href$='.pdf']").first.get_attribute("href")
    pdf = await (await spoke.request.get(base + href)).body()
    assert pdf.startswith(b"%PDF")
    code = read_qr(rasterise(pdf, 150, tmp_path))
    verdict = await (await spoke.request.get(base + URL(code).path_qs, headers={"Accept": "application/json"})).json()
    assert verdict["status"] == "valid", verdict


async def _hw_token(page: Any) -> int:
    action = await page.locator("form[action^='/portal/hw/tokens/']").first.get_attribute("action")
    return int(action.split("/")[4])
