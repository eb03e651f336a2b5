"""The room page in real Chromium: chat both ways (kept across a reload, times in the page's language), a
doctor's photo request answered with a camera still over a 150 kbit/s upload while the call goes on, and the
whole page in Hindi with the picker at hand."""

from __future__ import annotations

import asyncio
import hashlib
import io

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from signaling import keys
from tests.conftest import wait_until
from tests.helpers.browser import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    frames_decoded_over,
    open_page,
    token_link,
)

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]
LiveApp = tuple[str, str, web.Application]
UPLINK_BYTES_PER_S = 150_000 // 8


async def in_room(browser: Browser, live: LiveApp, room: str, errors: list[str], patient_lang: str = "",
                  phone: bool = True) -> tuple[Page, Page]:
    """The doctor's page (desktop) and the patient's (a 360×640 phone, its link in `patient_lang`), joined."""
    base_url, secret, _ = live
    doctor = await open_page(browser, errors, "doctor")
    await doctor.set_viewport_size({"width": 1280, "height": 800})
    await doctor.goto(token_link(base_url, secret, room, "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient")
    if phone:
        await patient.set_viewport_size({"width": 360, "height": 640})
    link = token_link(base_url, secret, room, "pt-ravi", "patient")
    await patient.goto(link + (f"&lang={patient_lang}" if patient_lang else ""))
    for page in (doctor, patient):
        await page.locator("#chat").wait_for(state="visible", timeout=15_000)
    return doctor, patient


async def chat(page: Page, text: str) -> None:
    await page.fill("#chat-input", text)
    await page.press("#chat-input", "Enter")


async def test_chat_goes_both_ways_and_comes_back_after_a_reload_with_times_in_the_pages_language(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await in_room(browser, live_app, "chat-browser", errors, patient_lang="mr")
    await chat(patient, "पायावर पुरळ आले आहे")
    await expect(doctor.locator("#chat-log li .text")).to_have_text(["पायावर पुरळ आले आहे"], timeout=5_000)
    await chat(doctor, "Since when?\n<script>alert(1)</script>")
    await expect(patient.locator("#chat-log li .text")).to_have_text(
        ["पायावर पुरळ आले आहे", "Since when?\n<script>alert(1)</script>"], timeout=5_000)
    assert await patient.locator("#chat-log script").count() == 0, "text, never markup"
    assert await patient.locator("#chat-log li.mine .text").text_content() == "पायावर पुरळ आले आहे"

    # Usable on the phone: the box and its buttons inside 360 px, thumb-sized.
    for selector in ("#chat-input", "#chat-form button[type=submit]", "#open-photo-box"):
        box = await patient.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44, (selector, box)

    # A reload (a dropped phone, a new tab) gets the room's chat back from the server, in order.
    await patient.reload()
    lines = patient.locator("#chat-log li .text")
    await expect(lines).to_have_text(["पायावर पुरळ आले आहे", "Since when?\n<script>alert(1)</script>"],
                                     timeout=15_000)
    # The time of each line in Marathi (Devanagari digits), as Intl formats it for the page's language.
    stamp = await patient.locator("#chat-log li time").first.text_content()
    assert any("\u0966" <= ch <= "\u096f" for ch in stamp or ""), stamp
    english = await doctor.locator("#chat-log li time").first.text_content()
    assert english and all(ch.isascii() for ch in english), english
    assert errors == []


async def test_a_requested_photo_crosses_a_150_kbit_upload_during_the_call_and_arrives_intact(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    room = "photo-browser"
    doctor, patient = await in_room(browser, live_app, room, errors)
    await assert_decodes_growing_video(doctor, "the doctor")
    # The patient's HTTP uplink is a 150 kbit/s link (Chromium's own throttling; WebRTC media is not throttled).
    cdp = await patient.context.new_cdp_session(patient)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 100,
                                                        "downloadThroughput": UPLINK_BYTES_PER_S * 4,
                                                        "uploadThroughput": UPLINK_BYTES_PER_S})

    await doctor.click(".tile:not(.self) .ask-photo")
    box = patient.locator("#photo-box")
    await expect(box).to_be_visible(timeout=5_000)
    await expect(patient.locator("#photo-box-title")).to_have_text("The doctor asks for a photo")
    await patient.click("#take-photo")
    await expect(patient.locator("#photo-progress")).to_have_text("Photo sent", timeout=60_000)
    received = await wait_until(lambda: doctor.evaluate("window.vaidya.photosReceived[0]"), "the doctor's copy")
    sent = await patient.evaluate("window.vaidya.photosSent[0]")
    assert received["sha256"] == sent["sha256"] == received["expected"]

    # The server kept exactly those bytes, and the call went on meanwhile.
    photo, content = await live_app[2][keys.ROOM_LOG].photo_content(room, received["photo_id"])
    assert hashlib.sha256(content).hexdigest() == sent["sha256"] == photo.sha256
    assert await frames_decoded_over(doctor, 1.0) >= 5

    # The doctor is told, and sees it full size (the camera's own resolution).
    await expect(doctor.locator("#status")).to_have_text("New photo from Patient")
    await doctor.click("#chat-log button.photo")
    view = doctor.locator("#photo-view-img")
    await expect(doctor.locator("#photo-view")).to_be_visible()
    size = await view.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    settings = await patient.evaluate("window.vaidya.session.stream.getVideoTracks()[0].getSettings()")
    assert size[0] >= settings["width"] and size[1] >= settings["height"], (size, settings)
    await doctor.click("#photo-view-close")

    # A photo from the gallery, big enough that the 150 kbit/s link sets the pace (the fake camera's still
    # is a flat picture that compresses to a few KB).
    await patient.click("#open-photo-box")
    started = asyncio.get_running_loop().time()
    await patient.set_input_files("#choose-photo", files=[{"name": "rash.jpg", "mimeType": "image/jpeg",
                                                          "buffer": noisy_jpeg(90_000)}])
    await expect(patient.locator("#photo-progress")).to_have_text("Photo sent", timeout=60_000)
    elapsed = asyncio.get_running_loop().time() - started
    second = await wait_until(lambda: doctor.evaluate("window.vaidya.photosReceived[1]"), "the second photo")
    sent = await patient.evaluate("window.vaidya.photosSent[1]")
    assert second["sha256"] == sent["sha256"] and sent["size"] > 80_000
    assert elapsed >= sent["size"] * 8 / 150_000 * 0.8, f"{elapsed:.1f} s: the upload was not throttled"
    assert await frames_decoded_over(doctor, 1.0) >= 5, "the call went on"
    assert errors == []


def noisy_jpeg(at_least: int) -> bytes:
    """A JPEG of random texture (a skin photo's detail compresses little), at least `at_least` bytes."""
    from PIL import Image

    side = 200
    while True:
        out = io.BytesIO()
        Image.effect_noise((side, side), 50).convert("RGB").save(out, "JPEG", quality=90)
        if out.tell() >= at_least:
            return out.getvalue()
        side += 60


async def test_the_room_page_speaks_hindi_from_the_link_and_the_picker_changes_it_in_place(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await in_room(browser, live_app, "hindi-room", errors, patient_lang="hi")
    assert await patient.evaluate("document.documentElement.lang") == "hi"
    await expect(patient.locator("#status")).to_have_text("परामर्श चल रहा है", timeout=10_000)
    await expect(patient.locator("#mic")).to_have_text("माइक बंद करें")
    await expect(patient.locator("#leave")).to_have_text("बाहर निकलें")
    await expect(patient.locator("#chat-title")).to_have_text("चैट")
    await expect(patient.locator(".tile.self .label")).to_have_text("आप · मरीज़")
    await expect(patient.locator(".tile:not(.self) .label")).to_have_text("dr-asha · डॉक्टर")
    assert await patient.locator("#chat-input").get_attribute("placeholder") == "संदेश लिखें"
    await patient.click("#mic")
    await expect(patient.locator("#mic")).to_have_text("माइक चालू करें")
    # Every visible word on the page is Hindi (or a name, a room name or a number).
    visible = await patient.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((el) => el.children.length === 0 && el.offsetParent !== null && el.tagName !== 'OPTION')
        .map((el) => el.textContent.trim()).filter(Boolean)""")
    english = [t for t in visible if any("a" <= ch.lower() <= "z" for ch in t)
               and not any(name in t for name in ("dr-asha", "hindi-room", "English"))]
    assert english == [], english

    session = await patient.evaluate("window.vaidya.session.participantId")
    await patient.select_option("#lang-pick", "en")
    await expect(patient.locator("#mic")).to_have_text("Unmute microphone")
    await expect(patient.locator("#status")).to_have_text("In the consultation")
    assert await patient.evaluate("window.vaidya.session.participantId") == session, "no rejoin"
    assert "lang=en" in patient.url and await patient.evaluate("document.documentElement.lang") == "en"
    assert errors == []


async def test_a_photo_upload_cut_off_for_two_seconds_carries_on_where_it_stopped(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await in_room(browser, live_app, "photo-cut", errors)
    cdp = await patient.context.new_cdp_session(patient)
    await cdp.send("Network.enable")
    link = {"latency": 100, "downloadThroughput": UPLINK_BYTES_PER_S * 4, "uploadThroughput": UPLINK_BYTES_PER_S}
    await cdp.send("Network.emulateNetworkConditions", {"offline": False, **link})
    uploads: list[tuple[str, str]] = []
    failed: list[str] = []
    patient.on("request", lambda r: uploads.append((r.method, r.url)) if "/photos" in r.url else None)
    patient.on("requestfailed", lambda r: failed.append(r.url) if "/photos/" in r.url else None)
    await patient.click("#open-photo-box")
    await patient.set_input_files("#choose-photo", files=[{"name": "wound.jpg", "mimeType": "image/jpeg",
                                                          "buffer": noisy_jpeg(90_000)}])
    # Part way through, the phone loses its network for two seconds.
    await wait_until(lambda: percent_sent(patient), "some of the photo sent", timeout=20)
    await cdp.send("Network.emulateNetworkConditions", {"offline": True, **link})
    await asyncio.sleep(2)
    stalled_at = await percent_sent(patient)
    await cdp.send("Network.emulateNetworkConditions", {"offline": False, **link})
    await expect(patient.locator("#photo-progress")).to_have_text("Photo sent", timeout=60_000)
    assert 0 < stalled_at < 100
    received = await wait_until(lambda: doctor.evaluate("window.vaidya.photosReceived[0]"), "the doctor's copy",
                                timeout=20)
    sent = await patient.evaluate("window.vaidya.photosSent[0]")
    assert received["sha256"] == sent["sha256"] and sent["size"] > 80_000
    # The same upload carried on from the server's offset: chunks failed, none was started afresh.
    assert failed, "the outage failed no request"
    assert [m for m, _ in uploads].count("POST") == 1 and len(await live_app[2][keys.ROOM_LOG].photos("photo-cut")) == 1
    offsets = [int(url.rsplit("offset=", 1)[1]) for m, url in uploads if m == "PUT"]
    assert offsets == sorted(offsets) and offsets[-1] > 0, offsets
    assert [e for e in errors if "Failed to fetch" not in e and "ERR_INTERNET_DISCONNECTED" not in e] == []


async def percent_sent(page: Page) -> int:
    text = await page.locator("#photo-progress").text_content() or ""
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits and 0 < int(digits) < 100 else 0
