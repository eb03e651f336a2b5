"""A pharmacist in real headless Chromium: opens the QR's URL, sees the verdict, marks it dispensed."""

from __future__ import annotations

import os

import pytest

from portal.context import PORTAL

from .web_harness import FORM

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
            assert "KMC-asha" in await verdict.inner_text()
            assert "PARACETAMOL 500 mg" in await page.locator("#signed-medicines + p + table").inner_text()
            # The stylesheet loads under the portal's Content-Security-Policy (inline styles would not).
            colour = await verdict.evaluate("el => getComputedStyle(el).borderTopColor")
            assert colour == "rgb(46, 125, 50)"
            await page.fill("#pharmacist", "M. Iyer, licence KA-RX-2231")
            await page.fill("#note", "3 days of paracetamol")
            await page.click("text=Mark dispensed")
            await page.wait_for_url("**/rx/verify?id=*")
            assert "M. Iyer, licence KA-RX-2231" in await page.content()
        finally:
            await browser.close()
