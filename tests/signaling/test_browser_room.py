"""A real browser: headless Chromium pages meet in rooms through the room page and the real server.

Each page must decode the others' video, which proves the whole path: page → signaling → publish → SFU
forwarding → subscribe → decoder. The browser plumbing is in tests/helpers/browser.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from signaling.grants import mint_token
from tests.conftest import wait_until
from tests.helpers.browser import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    chromium,
    frames_decoded_over,
    open_page,
    sees_and_hears,
    token_link,
)

INBOUND_AUDIO_JS = """
async () => {
  const report = await window.vaidya.subscribePc.getStats();
  const audio = { samples: 0, energy: 0 };
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      audio.samples += s.totalSamplesReceived || 0;
      audio.energy += s.totalAudioEnergy || 0;
    }
  });
  return audio;
}
"""

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]


@pytest.fixture
async def strict_autoplay_browser() -> AsyncIterator[Browser]:
    """Chromium as a phone behaves: sound may only autoplay after a tap (or while the page captures)."""
    async with chromium(autoplay_policy="document-user-activation-required") as launched:
        yield launched


async def _stopped(page: Page) -> bool:
    return await frames_decoded_over(page, 0.5) == 0


async def _grows(page: Page, room: str | None = None) -> bool:
    return await frames_decoded_over(page, 0.5, room) >= 3


async def doctor_and_patient(
    browser: Browser, base_url: str, secret: str, room: str, errors: list[str]
) -> tuple[Page, Page]:
    """The doctor opens a link carrying the token; the patient's link has none, so the page asks with a form."""
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, room, "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient", f"{base_url}/room/{room}")
    await patient.locator("#token-form").wait_for(state="visible", timeout=10_000)
    await patient.fill("#token-input", mint_token(secret, room=room, identity="pt-ravi", role="patient", ttl_s=300))
    await patient.click("#token-form button[type=submit]")
    return doctor, patient


async def test_two_browsers_in_one_room_each_decode_the_others_video(
    live_server: tuple[str, str], browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await doctor_and_patient(browser, *live_server, "opd-browser", errors)

    await asyncio.gather(
        assert_decodes_growing_video(doctor, "the doctor"), assert_decodes_growing_video(patient, "the patient")
    )
    for page in (doctor, patient):
        # Sound too: the fake microphone beeps, so the received audio is not silence, and it keeps coming.
        before = await page.evaluate(INBOUND_AUDIO_JS)
        await asyncio.sleep(1.0)
        after = await page.evaluate(INBOUND_AUDIO_JS)
        assert after["samples"] >= before["samples"] + 24_000 and after["energy"] > 0, (before, after)

    # Each page shows the other person, named and with their role, in a tile of its own.
    await doctor.locator(".tile:not(.self) .label", has_text="pt-ravi · Patient").wait_for(timeout=5_000)
    await patient.locator(".tile:not(.self) .label", has_text="dr-asha · Doctor").wait_for(timeout=5_000)
    assert await doctor.locator(".tile:not(.self)").count() == 1
    assert await patient.locator(".tile:not(.self)").count() == 1
    assert errors == []
    for page in (doctor, patient):
        assert not await page.locator("#status.problem").count(), await page.text_content("#status")


async def test_pausing_stops_the_others_video_until_resumed_and_leaving_removes_the_tile(
    live_server: tuple[str, str], browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await doctor_and_patient(browser, *live_server, "opd-pause", errors)
    await assert_decodes_growing_video(patient, "the patient")

    await doctor.click("#pause")
    await doctor.locator("#pause", has_text="Resume sending").wait_for(timeout=5_000)
    await doctor.locator("#status", has_text="Paused").wait_for(timeout=2_000)
    await patient.locator(".tile:not(.self) .note", has_text="Paused").wait_for(timeout=5_000)
    # frames already in flight (or queued in a transcoded tier on a loaded machine) drain, then nothing comes
    await wait_until(lambda: _stopped(patient), "the patient's video to stop after the pause", timeout=5.0)
    assert await frames_decoded_over(patient, 1.5) <= 2

    await doctor.click("#pause")
    await patient.locator(".tile:not(.self) .note", has_text="Paused").wait_for(state="hidden", timeout=5_000)
    await wait_until(lambda: _grows(patient), "the patient's video to flow again after resume", timeout=10.0)

    await doctor.click("#leave")
    await patient.locator(".tile:not(.self)").wait_for(state="detached", timeout=5_000)
    assert await doctor.locator(".tile").count() == 0
    assert errors == []


async def test_a_dropped_socket_reconnects_and_a_closed_tab_is_gone_from_the_others_page_within_5_s(
    live_server: tuple[str, str], browser: Browser
) -> None:
    errors: list[str] = []
    doctor, patient = await doctor_and_patient(browser, *live_server, "opd-drop", errors)
    await assert_decodes_growing_video(patient, "the patient")

    # The doctor's link drops (the socket closes under the page, as on a flaky mobile network).
    await doctor.evaluate("window.vaidya.client._ws.close()")
    await doctor.locator("#status", has_text="Trying again").wait_for(timeout=5_000)

    await doctor.locator("#status", has_text="In the consultation").wait_for(timeout=15_000)
    await wait_until(lambda: _grows(patient), "the patient to see the doctor again", timeout=15.0)
    await wait_until(lambda: _grows(doctor), "the doctor to see the patient again", timeout=15.0)
    assert await patient.locator(".tile:not(.self)").count() == 1
    assert await doctor.locator(".tile:not(.self)").count() == 1

    await doctor.context.close()
    await patient.locator(".tile:not(.self)").wait_for(state="detached", timeout=5_000)
    await patient.locator("#status", has_text="Waiting for others").wait_for(timeout=1_000)
    assert errors == []


async def test_one_client_holds_two_rooms_and_pausing_one_leaves_the_other_flowing(
    live_server: tuple[str, str], browser: Browser
) -> None:
    """A doctor in two consultations on one socket: both patients see the doctor; a pause is per room."""
    base_url, secret = live_server
    errors: list[str] = []
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, "opd-a", "dr-asha", "doctor"))
    await doctor.locator("#controls").wait_for(state="visible", timeout=10_000)
    second = mint_token(secret, room="opd-b", identity="dr-asha", role="doctor", ttl_s=300)
    await doctor.evaluate(
        "(token) => window.vaidya.client.join('opd-b', token, { stream: window.vaidya.session.stream })", second
    )
    patient_a = await open_page(browser, errors, "patient A", token_link(base_url, secret, "opd-a", "pt-a", "patient"))
    patient_b = await open_page(browser, errors, "patient B", token_link(base_url, secret, "opd-b", "pt-b", "patient"))

    await asyncio.gather(
        assert_decodes_growing_video(patient_a, "patient A"),
        assert_decodes_growing_video(patient_b, "patient B"),
        assert_decodes_growing_video(doctor, "the doctor, from room A", "opd-a"),
        assert_decodes_growing_video(doctor, "the doctor, from room B", "opd-b"),
    )
    assert await doctor.evaluate("window.vaidya.client.rooms.size") == 2

    await doctor.evaluate("window.vaidya.client.rooms.get('opd-b').pause()")
    await asyncio.sleep(0.5)
    assert await frames_decoded_over(patient_b, 1.5) <= 2
    assert await frames_decoded_over(patient_a, 2.0) >= 10  # ≥ 5 fps: still flowing (4 pages share 2 cores)
    assert errors == []


async def test_an_observer_sends_nothing_and_hears_the_doctor_after_at_most_one_tap(
    live_server: tuple[str, str], strict_autoplay_browser: Browser
) -> None:
    base_url, secret = live_server
    errors: list[str] = []
    browser = strict_autoplay_browser
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, "opd-watch", "dr-asha", "doctor"))
    observer = await open_page(
        browser, errors, "observer", token_link(base_url, secret, "opd-watch", "trainee", "observer")
    )

    await assert_decodes_growing_video(observer, "the observer")
    # An observer's token cannot publish: no camera, no preview, no publish connection, nothing to mute.
    assert await observer.locator(".tile.self").count() == 0
    assert await observer.evaluate("window.vaidya.publishPc") is None
    assert await observer.locator("#mic").is_hidden() and await observer.locator("#pause").is_hidden()
    await doctor.locator(".tile:not(.self) .note", has_text="Watching only").wait_for(timeout=5_000)

    # Nothing on the observer's page captures, so Chromium may refuse sound until a tap (it depends on whether
    # the first play() saw the audio track). Then the video plays muted behind a button; one tap brings sound.
    remote = observer.locator(".tile:not(.self) video")
    await asyncio.sleep(0.5)
    if await observer.locator("#sound-on").is_visible():
        assert await remote.evaluate("(v) => v.muted && !v.paused")
        await observer.click("#sound-on")
        await observer.locator("#sound-on").wait_for(state="hidden", timeout=2_000)
    await wait_until(lambda: remote.evaluate("(v) => !v.muted && !v.paused"), "the doctor's video to play with sound")
    # Chromium measures received audio energy as it plays the sound out: non-zero means it is being heard.
    await wait_until(
        lambda: observer.evaluate(f"({INBOUND_AUDIO_JS})().then((a) => a.energy > 0)"), "the doctor to be heard"
    )
    assert errors == []


async def test_three_browsers_each_see_and_hear_the_other_two(live_server: tuple[str, str], browser: Browser) -> None:
    """Hub and spoke: the specialist and the health worker are in the room before the patient, whose first
    subscribe offer then carries two tracks of each kind. With aiortc's default (balanced) bundle policy
    the second video sat on a transport the BUNDLE step had stopped: the patient saw only one of them."""
    base_url, secret = live_server
    errors: list[str] = []
    pages = []
    for identity, role in (("dr-heart", "doctor"), ("hw-1", "health_worker"), ("pt-gowramma", "patient")):
        pages.append(await open_page(browser, errors, identity, token_link(base_url, secret, "hub-3", identity, role)))
        await wait_until(lambda page=pages[-1]: page.evaluate("!!(window.vaidya && window.vaidya.session && window.vaidya.session.publishPc)"),
                         f"{identity} to publish")
        await asyncio.sleep(1.0)

    for page, who in zip(pages, ("the specialist", "the health worker", "the patient")):
        await wait_until(lambda page=page: sees_and_hears(page, 2), f"{who} to see and hear the other two", timeout=30)
    assert not errors, errors


async def test_a_phone_with_two_cameras_switches_between_them_and_the_doctor_keeps_seeing_video(
    live_server: tuple[str, str],
) -> None:
    """Front and back camera: the switch shows only where there is more than one camera, sends the next
    camera in place (the same connection, no renegotiation) and the doctor's picture comes back."""
    base_url, secret = live_server
    errors: list[str] = []
    # Chromium's fake devices: fake_device_1 is a Y16 depth camera, which no encoder takes (no phone's
    # front or back camera is one), so the phone here has three and the test switches twice, to fake_device_2.
    three_cameras = ("--use-fake-device-for-media-stream=device-count=3",)
    async with chromium() as one_camera_browser, chromium(extra_args=three_cameras) as phone_browser:
        doctor = await open_page(one_camera_browser, errors, "doctor", token_link(base_url, secret, "cams", "dr-asha", "doctor"))
        patient = await open_page(phone_browser, errors, "patient", token_link(base_url, secret, "cams", "pt-ravi", "patient"))
        await assert_decodes_growing_video(doctor, "the doctor")
        assert await doctor.locator("#switch-cam").is_hidden(), "one camera: nothing to switch"
        switch = patient.locator("#switch-cam")
        await switch.wait_for(state="visible")
        label = "window.vaidya.session.stream.getVideoTracks()[0].label"
        sent = ("window.vaidya.session.publishPc.getSenders()"
                ".find((s) => s.track && s.track.kind === 'video').track.label")
        publish_pc = await patient.evaluate("window.vaidya.session.publishPc.localDescription.sdp")
        assert await patient.evaluate(label) == "fake_device_0"
        for expected in ("fake_device_1", "fake_device_2"):
            await switch.click()
            await wait_until(lambda expected=expected: _is(patient, label, expected), f"the switch to {expected}")
        assert await patient.evaluate(sent) == "fake_device_2"
        await assert_decodes_growing_video(doctor, "the doctor, after the switch")
        # no renegotiation: the publish connection's description is the one it had
        assert await patient.evaluate("window.vaidya.session.publishPc.localDescription.sdp") == publish_pc
    assert not errors, errors


async def _is(page: Page, expression: str, expected: str) -> bool:
    return await page.evaluate(expression) == expected
