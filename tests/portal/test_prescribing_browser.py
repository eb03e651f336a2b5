"""The prescription form in a real Chromium: as the doctor types a brand, the formulary drug is suggested
with its TPG list and whether this consultation may prescribe it; a controlled substance is refused as
typed; picking a suggestion fills the name, picking one of its strengths fills name, strength and form
(and the line signs); the form with suggestions open passes axe."""

from __future__ import annotations

import shutil

import pytest

from rx.web import RX_SERVICE

from tests.helpers.axe import HAVE_AXE, NO_AXE, assert_accessible
from tests.portal.conftest import staff_login_on_page
from tests.helpers.browser import sized_page
from tests.portal.test_doctor import queued_patient

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
    pytest.mark.skipif(not HAVE_AXE, reason=NO_AXE),
]


async def _prescription_form(server, clinic, chromium):
    """The doctor's desk on the prescription form of a patient just admitted from the queue."""
    base = str(server.server.make_url("")).rstrip("/")
    await queued_patient(server, "9000000001", clinic.gen, "hi", "Meena")
    desk = await sized_page(chromium, 1280, 800, phone=False)
    await staff_login_on_page(desk, base, "dr-hindi")
    await desk.wait_for_url("**/portal/doctor")
    await desk.click("form[action='/portal/doctor/admit'] button.main")
    await desk.locator("a[href^='/rx/consultations/']").first.click()
    await desk.wait_for_url("**/rx/consultations/*/new")
    return desk


async def test_the_doctor_types_a_brand_and_sees_the_drug_its_list_and_the_verdict(server, clinic, chromium):
    desk = await _prescription_form(server, clinic, chromium)

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
    assert await desk.input_value("input[name=m0_strength]") == ""  # the drug alone fills only its name
    assert await desk.locator("input[name=m0_generic_name] + .suggestions .suggestion").count() == 0


async def test_choosing_a_strength_fills_name_strength_and_form_and_the_line_signs(server, clinic, chromium):
    desk = await _prescription_form(server, clinic, chromium)

    name = desk.locator("input[name=m0_generic_name]")
    await name.press_sequentially("dolo", delay=30)
    panel = desk.locator("input[name=m0_generic_name] + .suggestions")
    choice = panel.get_by_role("button", name="Paracetamol 650 mg tablet")
    await choice.wait_for()
    assert "500 mg tablet" in await panel.text_content()
    await assert_accessible(desk)
    await panel.get_by_role("button", name="Paracetamol 500 mg tablet").focus()
    await desk.keyboard.press("Escape")  # from a strength: nothing chosen, back to the name
    assert await panel.locator("button").count() == 0
    assert await desk.evaluate("document.activeElement.name") == "m0_generic_name"
    assert await desk.input_value("input[name=m0_strength]") == ""

    await name.press("Backspace")
    await name.press_sequentially("o", delay=30)
    await choice.wait_for()
    await choice.focus()
    await desk.keyboard.press("Enter")  # a button: the keyboard chooses it as a click would
    assert [await desk.input_value(f"input[name=m0_{f}]") for f in ("generic_name", "strength", "form")] == [
        "Paracetamol", "650 mg", "tablet"]
    assert await panel.locator("button").count() == 0

    await desk.check("input[name=age_confirmed]")
    await desk.fill("input[name=diagnosis]", "Acute viral fever")
    for field, value in (("dose", "1 tablet"), ("duration_days", "3"), ("quantity", "9")):
        await desk.fill(f"input[name=m0_{field}]", value)
    await desk.select_option("select[name=m0_frequency]", "TDS")
    await desk.click("button[type=submit]")
    await desk.wait_for_url("**/rx/mine#*")  # signed: the browser goes to the doctor's list
    rx_id = desk.url.rsplit("#", 1)[1]
    line = server.server.app[RX_SERVICE].store.latest(rx_id).prescription.medicines[0]
    assert (line.generic_name, line.strength, line.form) == ("Paracetamol", "650 mg", "tablet")
