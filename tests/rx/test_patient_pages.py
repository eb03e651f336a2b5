"""The patient's prescription pages in the portal's frame: a current one offers its PDF and a large QR, a
revoked or superseded one is marked and offers nothing (the server refuses its PDF with a page that says
why); and in real Chromium at 360×640 the family, visits, prescriptions, QR and refusal pages neither scroll
sideways nor lose the header, the language picker or the way back."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image

from portal import storage as st
from portal.auth import SESSION_COOKIE
from portal.context import PORTAL
from portal.models import ConsultStatus, TokenStatus
from rx.qr import payload_for, verification_url
from rx.web import RX_SERVICE
from tests.portal.test_browser import AUDIT_JS

from .web_harness import FORM

CHROMIUM = "/usr/bin/chromium"
PATIENT = "9800000001"


async def _issue(visitor, clinic, consult: int):
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp, body = await doctor.post_json(f"/rx/api/consultations/{consult}/prescriptions", FORM)
    assert resp.status == 201, body
    return doctor, body["id"]


async def _one_current_one_revoked(visitor, clinic) -> tuple[str, str]:
    doctor, current = await _issue(visitor, clinic, clinic.video_consult)
    _, revoked = await _issue(visitor, clinic, clinic.audio_consult)
    resp, body = await doctor.post_json(f"/rx/api/prescriptions/{revoked}/revoke", {"reason": "Wrong patient"})
    assert resp.status == 200, body
    return current, revoked


async def test_the_list_offers_a_current_prescription_and_marks_a_revoked_one_without_a_download(site):
    clinic, app, visitor = site
    current, revoked = await _one_current_one_revoked(visitor, clinic)
    patient = await visitor("patient", PATIENT)
    page = await (await patient.get("/rx/mine")).text()
    assert '<header>' in page and 'id="pick-lang"' in page and 'class="back" href="/portal/me"' in page
    assert f'href="/rx/{current}.pdf"' in page and f'href="/rx/{current}/qr"' in page
    assert f'href="/rx/{revoked}.pdf"' not in page and f'href="/rx/{revoked}/qr"' not in page
    assert f'id="{revoked}" class="prescription" data-status="revoked"' in page
    assert "The doctor revoked this prescription. Do not use it to buy medicines." in page


async def test_the_pdf_and_qr_of_a_revoked_or_superseded_version_are_refused_with_a_page(site):
    clinic, app, visitor = site
    current, revoked = await _one_current_one_revoked(visitor, clinic)
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp, body = await doctor.post_json(f"/rx/api/prescriptions/{current}/correct", {"advice": "Rest for 3 days"})
    assert resp.status == 201, body
    patient = await visitor("patient", PATIENT)
    patient.client.session.cookie_jar.update_cookies({"vaidya_lang": "hi"})
    for path, note in ((f"/rx/{revoked}.pdf", "डॉक्टर ने यह दवा पर्ची रद्द कर दी है"),
                       (f"/rx/{revoked}/qr", "डॉक्टर ने यह दवा पर्ची रद्द कर दी है"),
                       (f"/rx/{revoked}/qr.png", "डॉक्टर ने यह दवा पर्ची रद्द कर दी है"),
                       (f"/rx/{current}.pdf?v=1", "इसकी जगह नया संस्करण है")):
        resp = await patient.get(path)
        assert resp.status == 410, path
        page = await resp.text()
        assert resp.content_type == "text/html" and note in page and 'id="pick-lang"' in page, path
        assert "%PDF" not in page
    resp = await patient.get(f"/rx/{revoked}.pdf", headers={"Accept": "application/json"})
    assert resp.status == 410 and (await resp.json())["error"] == "rx_revoked"
    resp = await patient.get(f"/rx/{current}.pdf")  # the newest version is the one handed out
    assert resp.status == 200 and resp.content_type == "application/pdf"
    doctors_list = await (await doctor.get("/rx/mine")).text()
    assert f'href="/rx/{revoked}.pdf"' not in doctors_list and f'href="/rx/{current}.pdf"' in doctors_list


async def test_the_qr_page_shows_the_code_the_pdf_prints(site):
    zxingcpp = pytest.importorskip("zxingcpp")

    clinic, app, visitor = site
    current, _ = await _one_current_one_revoked(visitor, clinic)
    patient = await visitor("patient", PATIENT)
    page = await (await patient.get(f"/rx/{current}/qr")).text()
    assert f'src="/rx/{current}/qr.png?v=1"' in page and 'class="back" href="/rx/mine"' in page
    resp = await patient.get(f"/rx/{current}/qr.png?v=1")
    assert resp.status == 200 and resp.content_type == "image/png"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(await resp.read())))
    signed = app[RX_SERVICE].store.latest(current)
    assert [r.text for r in found] == [verification_url(app[PORTAL].config.base_url, payload_for(signed))]
    stranger = await visitor("patient", "9800000002")
    assert (await stranger.get(f"/rx/{current}/qr.png")).status == 404


# Layout facts read inside the page (as tests/portal/test_browser.py reads them).
FRAME_JS = """() => ({
  width: document.documentElement.scrollWidth,
  header: !!document.querySelector('header .brand'),
  picker: !!document.querySelector('#pick-lang'),
  back: document.querySelector('a.back') ? document.querySelector('a.back').getAttribute('href') : null,
})"""


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
async def test_the_patients_record_pages_fit_a_360_px_phone_in_the_portal_frame(site):
    from playwright.async_api import async_playwright

    clinic, app, visitor = site
    current, revoked = await _one_current_one_revoked(visitor, clinic)
    portal = app[PORTAL]

    def end_video_consult(conn):
        c = st.update_consultation(conn, clinic.video_consult, status=ConsultStatus.ENDED, ended_at=time.time(),
                                   duration_s=420.0)
        for token in st.tokens_for_patients(conn, [c.patient_id]):  # today's tokens are over
            st.update_token(conn, token.id, status=TokenStatus.DONE)

    await portal.db.run(end_video_consult)
    session = await portal.accounts.start_session("patient", PATIENT)
    base = portal.config.base_url
    record = f"/portal/patients/{clinic.patient_a}/record"
    pages = {"/portal/me": None, record: "/portal/me", "/rx/mine": "/portal/me",
             f"/rx/{current}/qr": "/rx/mine", f"/rx/{revoked}.pdf": "/rx/mine"}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                                has_touch=True)
            context.set_default_timeout(10_000)
            await context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": base}])
            page = await context.new_page()
            for path, back in pages.items():
                await page.goto(base + path)
                facts = await page.evaluate(FRAME_JS)
                assert facts["width"] <= 360, f"{path} scrolls sideways ({facts['width']} px)"
                assert facts["header"] and facts["picker"], f"{path} lacks the portal's header or picker"
                assert facts["back"] == back, path
                layout = await page.evaluate(AUDIT_JS)
                assert layout["small"] == [] and layout["unlabelled"] == [], (path, layout)
            await page.goto(base + "/rx/mine")
            assert await page.locator(f'a[href="/rx/{revoked}.pdf"]').count() == 0
            assert await page.locator(f'a[href="/rx/{current}.pdf"]').count() == 1
            assert "revoked" in await page.locator(f'[id="{revoked}"] .mark').inner_text()
            await page.select_option("#pick-lang", "ta")  # the picker brings the patient back to this page
            await page.click("footer button")
            await page.wait_for_url("**/rx/mine")
            assert await page.get_attribute("html", "lang") == "ta"
            assert (await page.evaluate(FRAME_JS))["width"] <= 360, "Tamil labels are longer: still no scroll"
            await page.goto(f"{base}/rx/{current}/qr")
            qr = await page.evaluate("""() => { const i = document.querySelector('img.qr');
                return {loaded: i.complete && i.naturalWidth > 0, shown: i.getBoundingClientRect().width}; }""")
            assert qr["loaded"] and qr["shown"] >= 300, qr  # large enough for a pharmacist's scanner
            await page.goto(base + record)
            await page.click("li.consultation button")  # book a follow-up with the same doctor
            await page.wait_for_url("**/portal/tokens/*")
            token_id = int(page.url.rsplit("/", 1)[1])
            token = await portal.db.run(lambda conn: st.get_token(conn, token_id))
            assert (token.visit.value, token.want_doctor_id) == ("follow_up", clinic.doctor_a)
            assert (await page.evaluate(FRAME_JS))["width"] <= 360
        finally:
            await browser.close()
