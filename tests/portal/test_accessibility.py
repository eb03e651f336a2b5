"""axe-core audits (WCAG 2.1 A/AA) of every page of the journey, in a real Chromium: the patient's pages on a
360×640 phone in English and Hindi, the doctor's at 1280×800, the health worker's, the pharmacist's verify
page and the room page. No serious or critical violation may remain on any of them."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.axe import HAVE_AXE, NO_AXE, assert_accessible
from tests.helpers.browser import sized_page
from tests.portal.conftest import fill_patient_form, staff_login_on_page
from tests.portal.test_doctor import queued_patient

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
    pytest.mark.skipif(not HAVE_AXE, reason=NO_AXE),
]


@pytest.mark.parametrize("language", ["en", "hi"])
async def test_the_patients_pages_have_no_serious_accessibility_violation(server, clinic, chromium, language):
    base = str(server.server.make_url("")).rstrip("/")
    phone = await sized_page(chromium, 360, 640, phone=True)
    await phone.goto(f"{base}/portal/lang?l={language}&next=/portal/")
    await assert_accessible(phone)
    await phone.fill("#f-mobile", "9876543210")
    await phone.click("button.main")
    await phone.wait_for_url("**/portal/otp")
    await assert_accessible(phone)
    await phone.fill("#f-code", server.last_code("9876543210"))
    await phone.click("button.main")
    await phone.wait_for_url("**/portal/me")
    await assert_accessible(phone)
    await phone.goto(f"{base}/portal/register")
    await assert_accessible(phone)
    await fill_patient_form(phone, "Asha Devi")
    await phone.click("button.main")
    await assert_accessible(phone)  # the registered page
    patient_id = (await phone.text_content("strong")).strip()
    await phone.goto(f"{base}/portal/patients/{patient_id}/book")
    await assert_accessible(phone)
    await phone.check(f"input[name=opd][value='{clinic.gen}']")
    await phone.click("button.main")
    await phone.wait_for_url("**/portal/tokens/*")
    await assert_accessible(phone)
    await phone.goto(f"{base}/rx/mine")
    await assert_accessible(phone)
    await phone.goto(f"{base}/rx/verify")
    await assert_accessible(phone)


async def test_the_staff_pages_and_the_room_page_have_no_serious_accessibility_violation(server, clinic, chromium):
    base = str(server.server.make_url("")).rstrip("/")
    await queued_patient(server, "9000000001", clinic.gen, "hi", "Meena")
    desk = await sized_page(chromium, 1280, 800, phone=False)
    await desk.goto(f"{base}/portal/staff/login")
    await assert_accessible(desk)
    await staff_login_on_page(desk, base, "dr-hindi")
    await desk.wait_for_url("**/portal/doctor")
    await assert_accessible(desk)  # the queue, nobody admitted yet
    await desk.click("form[action='/portal/doctor/admit'] button.main")
    await desk.wait_for_url("**/portal/doctor")
    await assert_accessible(desk)  # with a consultation in progress
    prescribe = desk.locator("a[href^='/rx/consultations/']").first
    await prescribe.click()
    await desk.wait_for_url("**/rx/consultations/*/new")
    await assert_accessible(desk)

    await desk.goto(f"{base}/portal/doctor")
    async with desk.context.expect_page() as opened:
        await desk.click("button.call")
    room = await opened.value
    await room.wait_for_load_state()
    await room.wait_for_function("window.vaidya && window.vaidya.session && window.vaidya.session.state === 'joined'")
    await assert_accessible(room)

    worker = await sized_page(chromium, 1280, 800, phone=False)
    await staff_login_on_page(worker, base, "hw-1")
    await worker.wait_for_url("**/portal/hw")
    await assert_accessible(worker)
