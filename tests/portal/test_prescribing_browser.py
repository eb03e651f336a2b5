"""The prescription form in a real Chromium: as the doctor types a brand, the formulary drug is suggested
with its TPG list and whether this consultation may prescribe it; a controlled substance is refused as
typed; picking a suggestion fills the line; the form with suggestions open passes axe."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.axe import HAVE_AXE, NO_AXE, assert_accessible
from tests.portal.conftest import staff_login_on_page
from tests.helpers.browser import sized_page
from tests.portal.test_doctor import queued_patient

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
    pytest.mark.skipif(not HAVE_AXE, reason=NO_AXE),
]


async def test_the_doctor_types_a_brand_and_sees_the_drug_its_list_and_the_verdict(server, clinic, chromium):
    base = str(server.server.make_url("")).rstrip("/")
    await queued_patient(server, "9000000001", clinic.gen, "hi", "Meena")
    desk = await sized_page(chromium, 1280, 800, phone=False)
    await staff_login_on_page(desk, base, "dr-hindi")
    await desk.wait_for_url("**/portal/doctor")
    await desk.click("form[action='/portal/doctor/admit'] button.main")
    await desk.locator("a[href^='/rx/consultations/']").first.click()
    await desk.wait_for_url("**/rx/consultations/*/new")

    first = desk.locator("input[name=m0_generic_name]")
    await first.press_sequentially("dolo", delay=30)
    suggestion = desk.locator("input[name=m0_generic_name] + .suggestions .suggestion").first
    await suggestion.wait_for()
    text = await suggestion.text_content()
    assert "Paracetamol" in text and "(Dolo)" in text and "List O" in text and "allowed here" in text, text

    second = desk.locator("input[name=m1_generic_name]")
    await second.press_sequentially("Restyl", delay=30)
    refused = desk.locator("input[name=m1_generic_name] + .suggestions .suggestion").first
    await refused.wait_for()
    text = await refused.text_content()
    assert "prohibited" in text and "NDPS" in text and await refused.is_disabled(), text
    await assert_accessible(desk)

    await suggestion.click()
    assert await first.input_value() == "Paracetamol"
    assert await desk.locator("input[name=m0_generic_name] + .suggestions .suggestion").count() == 0
