"""The patient's pages in a real headless Chromium at 360×640: no sideways scrolling, large labelled
controls, the whole OTP login done with the keyboard alone, Urdu laid out right to left, and the live
queue position moving on screen as a doctor admits patients."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import wait_until
from tests.portal.conftest import fill_patient_form
from tests.portal.test_doctor import admit, queued_patient

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed")

# Layout facts read inside the page: overflow, controls too small to tap (a radio button's target is its
# label), fields nobody labelled, the text direction.
AUDIT_JS = """() => {
  const controls = [...document.querySelectorAll('button, a.button, input:not([type=hidden]), select')]
    .filter(e => e.offsetParent !== null);
  const target = e => (e.type === 'radio' || e.type === 'checkbox') && e.closest('label') ? e.closest('label') : e;
  const small = controls.filter(e => target(e).getBoundingClientRect().height < 48)
    .map(e => e.outerHTML.slice(0, 80));
  const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select')]
    .filter(e => e.offsetParent !== null && e.labels.length === 0).map(e => e.name);
  return {width: document.documentElement.scrollWidth, small, unlabelled,
          dir: getComputedStyle(document.documentElement).direction};
}"""


# Where the words of an element sit (not its box, which spans the line either way).
TEXT_BOX_JS = """(selector) => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelector(selector));
  const r = range.getBoundingClientRect();
  return {left: r.left, right: r.right};
}"""


@pytest.fixture
async def phone():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                            has_touch=True)
        context.set_default_timeout(10_000)
        yield await context.new_page()
        await browser.close()


async def tab_to(page, name: str, most: int = 15) -> None:
    """Press Tab until the field called `name` has the focus, as a keyboard user would."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == name:
            return
    raise AssertionError(f"{name} cannot be reached with Tab on {page.url}")


async def check_layout(page, direction: str = "ltr") -> None:
    facts = await page.evaluate(AUDIT_JS)
    assert facts["width"] <= 360, f"{page.url} scrolls sideways ({facts['width']} px)"
    assert facts["small"] == [], f"{page.url}: controls under 48 px (touch targets, WCAG 2.5.5)"
    assert facts["unlabelled"] == [], f"{page.url}: fields without a label"
    assert facts["dir"] == direction


async def test_a_patient_logs_in_by_keyboard_and_watches_the_queue_move_on_a_small_phone(server, clinic, phone):
    base = str(server.server.make_url("")).rstrip("/")
    await phone.goto(f"{base}/portal/lang?l=hi&next=/portal/")
    await check_layout(phone)
    await tab_to(phone, "mobile")
    await phone.keyboard.type("98765 43210")
    await phone.keyboard.press("Enter")
    await phone.wait_for_url("**/portal/otp")
    await check_layout(phone)
    await tab_to(phone, "code")
    await phone.keyboard.type(server.last_code("9876543210"))
    await phone.keyboard.press("Enter")
    await phone.wait_for_url("**/portal/me")
    await check_layout(phone)

    await phone.goto(f"{base}/portal/register")
    await check_layout(phone)
    await fill_patient_form(phone, "Asha Devi", language="hi")
    await phone.click("button.main")
    patient_id = (await phone.text_content("strong")).strip()
    await phone.goto(f"{base}/portal/patients/{patient_id}/book")
    await check_layout(phone)

    await queued_patient(server, "9123456780", clinic.gen, "hi", "Ahead")  # someone is already waiting
    await phone.check(f"input[name=opd][value='{clinic.gen}']")
    await phone.click("button.main")  # get a token
    await phone.wait_for_url("**/portal/tokens/*")
    await check_layout(phone)
    await phone.click("#join-form button")
    await phone.wait_for_function("() => document.getElementById('status-text').textContent.includes('2')")

    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    await admit(doctor, clinic.gen)  # the one ahead
    await phone.wait_for_function("() => document.getElementById('status-text').textContent === 'आप अगले हैं।'")
    assert await phone.is_hidden("#call-form")
    await admit(doctor, clinic.gen)
    await phone.wait_for_selector("#call-form", state="visible")
    await check_layout(phone)
    await phone.click("#call-form button")
    await wait_until(lambda: "/room/" in phone.url, "the Call now button to open the room page")
    assert "#token=" in phone.url


async def test_the_urdu_pages_are_laid_out_right_to_left_without_sideways_scrolling(server, phone):
    base = str(server.server.make_url("")).rstrip("/")
    await phone.goto(f"{base}/portal/lang?l=ur&next=/portal/staff/login")
    await check_layout(phone, "rtl")
    await phone.goto(f"{base}/portal/")
    await check_layout(phone, "rtl")
    label = await phone.evaluate(TEXT_BOX_JS, "label[for=f-mobile]")
    assert label["left"] > 120 and label["right"] > 300, label  # a short label hugs the right edge


async def test_the_token_page_says_the_doctor_is_busy_then_flags_the_call_live(server, clinic, phone):
    """The eye OPD has one doctor: while they see the patient ahead, the page says so and the wait grows."""
    from portal.auth import SESSION_COOKIE

    base = str(server.server.make_url("")).rstrip("/")
    await queued_patient(server, "9123456780", clinic.eye, "hi", "Ahead")
    _, _, tid = await queued_patient(server, "9876543210", clinic.eye, "hi", "Asha")
    session = await server.portal.accounts.start_session("patient", "9876543210")
    await phone.context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": base},
                                     {"name": "vaidya_lang", "value": "hi", "url": base}])
    await phone.goto(f"{base}/portal/tokens/{tid}")
    assert await phone.is_hidden("#busy-text")
    doctor = await server.browser()
    await doctor.staff_login("dr-eye")
    await admit(doctor, clinic.eye)  # the one ahead
    await phone.wait_for_selector("#busy-text", state="visible")
    assert await phone.text_content("#busy-text") == "डॉक्टर अभी दूसरे मरीज़ के साथ हैं।"
    assert await phone.text_content("#status-text") == "आप अगले हैं।"
    assert await phone.text_content("#wait-text") == "प्रतीक्षा का समय: लगभग 8 मिनट"
    await check_layout(phone)
    await admit(doctor, clinic.eye)  # now this patient: the box turns to the call
    await phone.wait_for_selector("#live.called")
    assert await phone.is_hidden("#busy-text") and await phone.is_visible("#call-form")
