"""A pharmacist in real headless Chromium: logs in, opens the QR's URL, sees the verdict, records what they
dispensed."""

from __future__ import annotations

import os

import pytest

from portal.context import PORTAL

from .web_harness import FORM, PHARMACIST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


async def test_a_pharmacist_scans_verifies_and_marks_a_prescription_dispensed_in_chromium(site):
    from playwright.async_api import async_playwright

    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp, issued = await doctor.post_json(f"/rx/api/consultations/{clinic.video_consult}/prescriptions", FORM)
    assert resp.status == 201, issued
    assert issued["verify_url"].startswith(app[PORTAL].config.base_url + "/rx/verify?c=RX2.")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page()
            await page.goto(issued["verify_url"])
            verdict = page.locator("#verdict")
            assert await verdict.get_attribute("data-status") == "valid"
            assert "KMC-48213" in await verdict.inner_text()
            assert "PARACETAMOL 500 mg" in await page.locator("#signed-medicines + p + table").inner_text()
            # The stylesheet loads under the portal's Content-Security-Policy (inline styles would not).
            colour = await verdict.evaluate("el => getComputedStyle(el).borderTopColor")
            assert colour == "rgb(46, 125, 50)"
            await page.goto(app[PORTAL].config.base_url + "/portal/staff/login")
            await page.fill("#f-username", "ph-iyer")
            await page.fill("#f-password", PHARMACIST_PASSWORD)
            await page.click("button.main")
            await page.wait_for_url("**/rx/verify")
            await page.goto(issued["verify_url"])
            await page.fill("#q0", "9")
            await page.fill("#note", "3 days of paracetamol")
            await page.click("text=Record as dispensed")
            await page.wait_for_url("**/rx/verify?id=*")
            text = await page.locator("#fills").inner_text() + await page.locator("#dispensed").inner_text()
            assert "PARACETAMOL 500 mg: 9 of 9" in text and "Jan Aushadhi Kendra, Hosakote" in text
        finally:
            await browser.close()
