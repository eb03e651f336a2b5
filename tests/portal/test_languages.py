"""The eleven languages: complete catalogs, the picker, Accept-Language, right-to-left Urdu, localized
dates and numbers."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal import catalogs
from portal.i18n import LANGUAGES, Catalogs

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TRANSLATED = [code for code in LANGUAGES if code != "en"]


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_ui_string_is_translated_in_each_catalog(code):
    assert catalogs.missing(code) == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_translation_keeps_the_placeholders_and_is_not_the_english_text(code):
    catalog = catalogs.read_catalog(code)
    assert catalog is not None
    untouched = []
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == wanted, (message.id, s)
            assert s % {name: "x" for name in wanted} if wanted else s  # formats without error
        if strings[0] == ids[0]:
            untouched.append(message.id)
    assert untouched == []


def test_the_committed_template_matches_the_source():
    """A new or changed UI string must go through `python -m portal.catalogs --update`."""
    with (catalogs.LOCALE_DIR / "messages.pot").open("rb") as f:
        committed = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalogs.read_po(f) if m.id}
    assert committed == catalogs.ui_strings()


def test_dates_and_numbers_follow_the_language():
    langs = Catalogs()
    day = dt.date(2026, 1, 26)
    assert langs.get("en").date(day) == "Jan 26, 2026"
    assert "जन॰" in langs.get("hi").date(day) or "जनवरी" in langs.get("hi").date(day)
    assert re.search(r"[\u0B80-\u0BFF]", langs.get("ta").date(day))  # a Tamil month name
    assert re.search(r"[\u0600-\u06FF]", langs.get("ur").date(day))
    assert langs.get("hi").number(1234567) == "12,34,567"  # Indian digit grouping
    assert langs.get("en").minutes(60) == "about 1 minute" and langs.get("en").minutes(600) == "about 10 minutes"
    assert langs.get("hi").minutes(600) == "लगभग 10 मिनट"


async def test_accept_language_chooses_the_page_language(server):
    browser = await server.browser()
    resp, text = await browser.get("/portal/", headers={"Accept-Language": "fr;q=1.0, ta-IN;q=0.9, en;q=0.5"})
    assert resp.status == 200
    assert '<html lang="ta" dir="ltr">' in text
    assert "உங்கள் கைபேசியிலேயே மருத்துவரைப் பாருங்கள், இலவசமாக" in text


async def test_the_language_picker_wins_over_accept_language_and_is_remembered(server):
    browser = await server.browser()
    resp, _ = await browser.get("/portal/lang?l=bn&next=/portal/staff/login", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/portal/staff/login"
    resp, text = await browser.get("/portal/staff/login", headers={"Accept-Language": "hi"})
    assert '<html lang="bn"' in text and "কর্মীদের লগ ইন" in text
    resp, _ = await browser.get("/portal/lang?l=xx&next=https://evil.example/", allow_redirects=False)
    assert resp.headers["Location"] == "/portal/"  # no open redirect, unknown language ignored
    _, text = await browser.get("/portal/")
    assert '<html lang="bn"' in text


async def test_the_urdu_page_is_right_to_left_and_fully_translated(server):
    browser = await server.browser()
    await browser.get("/portal/lang?l=ur&next=/portal/")
    _, text = await browser.get("/portal/")
    assert '<html lang="ur" dir="rtl">' in text
    assert "اپنے فون پر ڈاکٹر کو دکھائیں، مفت" in text
    await browser.get("/portal/lang?l=hi&next=/portal/")
    _, text = await browser.get("/portal/")
    assert '<html lang="hi" dir="ltr">' in text


def english_left(html: str) -> list[str]:
    """UI strings (longer than a word of three letters) still in English on the rendered page."""
    english = {m for m in catalogs.ui_strings() if isinstance(m, str) and len(m) > 3}
    visible = re.sub(r"<[^>]+>", "\n", html)
    return sorted(s for s in english if s in visible.splitlines() or f" {s}" in visible)


@pytest.mark.parametrize("code", TRANSLATED)
async def test_no_english_ui_text_is_left_on_the_patients_pages(server, clinic, code):
    browser = await server.browser()
    await browser.get(f"/portal/lang?l={code}&next=/portal/")
    pages = [(await browser.get("/portal/"))[1], (await browser.get("/portal/staff/login"))[1]]
    await browser.login_with_otp("9876543210")
    pages.append((await browser.get("/portal/register"))[1])
    pid = await browser.register(language=code)
    pages.append((await browser.get("/portal/me"))[1])
    pages.append((await browser.get(f"/portal/patients/{pid}/book"))[1])
    token_id = await browser.book(pid, clinic.gen, language=code)
    pages.append((await browser.get(f"/portal/tokens/{token_id}"))[1])
    pages.append((await browser.get(f"/portal/patients/{pid}/record"))[1])
    for html in pages:
        assert english_left(html) == []


async def test_no_english_ui_text_is_left_on_the_staff_pages(server, clinic):
    from tests.portal.test_doctor import admit, queued_patient
    from tests.portal.test_hub_spoke import refer

    for i in range(2):
        await queued_patient(server, f"900000000{i}", clinic.gen, "ur", f"P{i}")
    doctor, hw = await server.browser(), await server.browser()
    for browser, user in ((doctor, "dr-hindi"), (hw, "hw-1")):
        await browser.get("/portal/lang?l=ur&next=/portal/")
        await browser.staff_login(user)
    _, body = await admit(doctor, clinic.gen)
    await refer(hw, clinic.hub)
    summary = f"/portal/doctor/patients/{body['consultation']['patient_id']}"
    for browser, path in ((doctor, "/portal/doctor"), (doctor, summary), (hw, "/portal/hw"),
                          (hw, "/portal/staff/login")):
        _, html = await browser.get(path)
        assert 'dir="rtl"' in html and english_left(html) == [], path
