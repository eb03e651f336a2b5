"""The browser side of adaptation, in headless Chromium against the real server (docs/room-page.md).

The server's own adaptation logic decides when to send `quality` and `uplink-budget`; these tests make the
running server send them through the page's real Session (its `send`, the path every server message takes),
so they check what the page and its client library do with them: the words a tile shows, in the user's
language, and the sender parameters Chromium really applies to its camera and microphone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from portal.i18n import LANGUAGES
from signaling import keys
from signaling.protocol import parse_message
from signaling.session import Session
from tests.conftest import wait_until
from tests.helpers.browser import (
    DIAGNOSE_JS,
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    frames_decoded_over,
    open_page,
    running_app,
    token_link,
)

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

LiveApp = tuple[str, str, web.Application]

# What the page's publish connection sends: payload bytes and picture width, per kind.
OUTBOUND_JS = """
async () => {
  const pc = window.vaidya.publishPc;
  if (!pc) return null;
  const out = { video: { bytes: 0, width: 0 }, audio: { bytes: 0, width: 0 } };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "outbound-rtp") return;
    out[s.kind].bytes += s.bytesSent || 0;
    out[s.kind].width = Math.max(out[s.kind].width, s.frameWidth || 0);
  });
  return out;
}
"""
# The first encoding of each sender, as Chromium holds it now.
SENDER_PARAMETERS_JS = """
() => {
  const pc = window.vaidya.publishPc;
  if (!pc || !pc.currentRemoteDescription) return null;
  const out = {};
  for (const sender of pc.getSenders()) {
    if (!sender.track) continue;
    const e = sender.getParameters().encodings?.[0];
    out[sender.track.kind] = e && {
      active: e.active, maxBitrate: e.maxBitrate ?? null, maxFramerate: e.maxFramerate ?? null,
      scaleResolutionDownBy: e.scaleResolutionDownBy ?? null,
    };
  }
  return out;
}
"""


@pytest.fixture
async def live_app(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with running_app(tmp_path / "data") as running:
        yield running


def server_session(app: web.Application, room: str, identity: str) -> Session:
    """The real server Session of one participant (the one every message to that page goes through)."""
    found = app[keys.REGISTRY].get(room)
    participant = found.by_identity(identity) if found else None
    assert participant is not None and isinstance(participant.peer, Session), f"{identity} is not in {room}"
    return participant.peer


def producer_id(app: web.Application, room: str, identity: str, kind: str) -> str | None:
    found = app[keys.REGISTRY].get(room)
    participant = found.by_identity(identity) if found else None
    return next((p.id for p in participant.producers() if p.kind == kind), None) if participant else None


def quality(room: str, producer: str, tier: str, reason: str | None, kind: str = "video") -> dict[str, Any]:
    small = {"T1": (640, 360), "T2": (320, 180), "T3": (256, 144)}.get(tier, (None, None))
    return {"type": "quality", "room": room, "producer_id": producer, "kind": kind, "tier": tier,
            "reason": reason, "width": small[0], "height": small[1], "estimate_kbps": 120}


async def doctor_and_patient(
    browser: Browser, live: LiveApp, room: str, errors: list[str], patient_query: str = ""
) -> tuple[Page, Page]:
    """A doctor and a patient (whose link may carry a query, e.g. ?lang=hi), each decoding the other's video."""
    base_url, secret, _ = live
    doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, room, "dr-asha", "doctor"))
    link = token_link(base_url, secret, room, "pt-ravi", "patient").replace("#", f"{patient_query}#", 1)
    patient = await open_page(browser, errors, "patient", link)
    await asyncio.gather(
        assert_decodes_growing_video(doctor, "the doctor"), assert_decodes_growing_video(patient, "the patient")
    )
    return doctor, patient


async def test_a_quality_event_shows_on_the_tile_in_the_users_words_and_language(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    room = "opd-quality"
    doctor, patient = await doctor_and_patient(browser, live_app, room, errors, patient_query="?lang=hi")
    app = live_app[2]
    doctor_video = producer_id(app, room, "dr-asha", "video")
    assert doctor_video is not None
    to_patient = server_session(app, room, "pt-ravi")
    words = patient.locator(".tile:not(.self) .quality")
    assert await words.is_hidden()  # at the original stream the tile says nothing

    # The patient asked for Hindi (?lang=hi): each tier and reason in the patient's words, as they change.
    cases = [
        ("A", "network", "कमज़ोर नेटवर्क — सिर्फ़ आवाज़"),
        ("T2", "network", "कमज़ोर नेटवर्क — वीडियो की क्वालिटी कम की गई"),
        ("A", "pinned", "सिर्फ़ आवाज़, डॉक्टर ने चुना है"),
        ("T3", "pinned", "वीडियो की क्वालिटी कम, डॉक्टर ने चुना है"),
        ("T3", "save_data", "डेटा बचाया जा रहा है"),
    ]
    for tier, reason, text in cases:
        to_patient.send(quality(room, doctor_video, tier, reason))
        await expect(words).to_have_text(text, timeout=2_000)
    assert await words.get_attribute("lang") == "hi"
    # Audio news does not change what the tile says about video; back at the original, the words go.
    to_patient.send(quality(room, producer_id(app, room, "dr-asha", "audio") or "", "low", "network", "audio"))
    await asyncio.sleep(0.3)
    await expect(words).to_have_text("डेटा बचाया जा रहा है")
    to_patient.send(quality(room, doctor_video, "T0", None))
    await expect(words).to_be_hidden(timeout=2_000)

    # The doctor's page has no language asked for and an English browser: English words.
    patient_video = producer_id(app, room, "pt-ravi", "video")
    assert patient_video is not None
    server_session(app, room, "dr-asha").send(quality(room, patient_video, "A", "network"))
    await expect(doctor.locator(".tile:not(.self) .quality")).to_have_text("Weak network — audio only", timeout=2_000)
    # News about a producer the page does not know is ignored without a script error.
    to_patient.send(quality(room, "pr-nobody", "A", "network"))
    await asyncio.sleep(0.3)
    assert errors == []


async def test_the_page_speaks_the_language_of_the_query_the_fragment_or_the_browser(
    live_app: LiveApp, browser: Browser
) -> None:
    base_url, secret, _ = live_app
    errors: list[str] = []
    # No ?lang= and no lang in the fragment: an Urdu browser gets Urdu words, written right to left.
    page = await open_page(browser, errors, "urdu", token_link(base_url, secret, "opd-lang", "pt-u", "patient"),
                           locale="ur-PK")
    await page.locator("#controls").wait_for(state="visible", timeout=10_000)
    save = page.locator("#save-data")
    await expect(save).to_have_text("ڈیٹا بچائیں")
    assert (await save.get_attribute("lang"), await save.get_attribute("dir")) == ("ur", "rtl")

    picked = await page.evaluate(
        """async () => {
          const { pickLanguage } = await import("/static/room-words.js");
          const at = (search, hash, languages) => pickLanguage({ search, hash }, { languages });
          return [
            at("?lang=ta", "#token=x&lang=hi", ["bn-IN"]),
            at("", "#token=x&lang=hi", ["bn-IN"]),
            at("", "#token=x", ["fr-FR", "mr-IN"]),
            at("?lang=HI-in", "", []),
            at("?lang=xx", "#lang=yy", ["de-DE"]),
          ];
        }"""
    )
    assert picked == ["ta", "hi", "mr", "hi", "en"]

    # Every one of the portal's languages has a file with exactly the English keys, none empty.
    tables = await page.evaluate(
        """async () => {
          const { ENGLISH, LANGUAGES } = await import("/static/room-words.js");
          const out = { LANGUAGES, en: ENGLISH };
          for (const lang of LANGUAGES.filter((l) => l !== "en")) {
            out[lang] = (await import(`/static/words/${lang}.js`)).default;
          }
          return out;
        }"""
    )
    assert sorted(tables.pop("LANGUAGES")) == sorted(LANGUAGES)
    english = tables["en"]
    for lang, table in tables.items():
        assert set(table) == set(english), lang
        assert all(isinstance(v, str) and v.strip() for v in table.values()), lang
        if lang != "en":
            assert not set(table.values()) & set(english.values()), f"{lang} repeats English words"
    assert errors == []


async def outbound_rates(page: Page, seconds: float) -> dict[str, Any]:
    """Bits per second the page's publish connection sent over `seconds`, per kind, and the video width."""
    before = await page.evaluate(OUTBOUND_JS)
    await asyncio.sleep(seconds)
    after = await page.evaluate(OUTBOUND_JS)
    rates = {kind: (after[kind]["bytes"] - before[kind]["bytes"]) * 8 / seconds for kind in ("video", "audio")}
    return {**rates, "width": after["video"]["width"]}


async def sender_parameters_become(page: Page, want: dict[str, dict[str, Any]], what: str) -> None:
    async def matches() -> bool:
        now = await page.evaluate(SENDER_PARAMETERS_JS)
        return bool(now) and all(now.get(kind) and now[kind] | fields == now[kind] for kind, fields in want.items())

    try:
        await wait_until(matches, what, timeout=5.0, interval=0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the senders hold {await page.evaluate(SENDER_PARAMETERS_JS)}") from None


async def test_an_uplink_budget_is_applied_to_the_senders_cuts_the_video_and_survives_a_reconnect(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    room = "opd-uplink"
    doctor, patient = await doctor_and_patient(browser, live_app, room, errors)
    app = live_app[2]
    # What is tested is the patient's uplink: the doctor's own downlink adaptation (which, on a CPU-starved
    # loopback, may pause the video it receives) stays out of it: the doctor gets the original streams.
    doctor_member = app[keys.REGISTRY].get(room).by_identity("dr-asha")
    assert doctor_member is not None and doctor_member.allocator is not None
    doctor_member.allocator.close()
    full = await outbound_rates(patient, 2.0)

    # A 2G uplink: 60 kbit/s of video at half the size and 10 fps, 16 kbit/s of Opus.
    server_session(app, room, "pt-ravi").send({
        "type": "uplink-budget", "room": room, "estimate_kbps": 110,
        "video": {"max_bitrate": 60_000, "max_framerate": 10, "scale_resolution_down_by": 2},
        "audio": {"max_bitrate": 16_000},
    })
    await sender_parameters_become(patient, {
        "video": {"active": True, "maxBitrate": 60_000, "maxFramerate": 10, "scaleResolutionDownBy": 2},
        "audio": {"maxBitrate": 16_000},
    }, "the 2G budget on the patient's senders")
    await asyncio.sleep(2.0)  # the encoder settles at its new rate
    low = await outbound_rates(patient, 3.0)
    assert low["video"] <= 60_000 * 1.25 and low["video"] < full["video"] / 2, (full, low)
    assert 0 < low["width"] <= full["width"] / 2 + 1, (full, low)
    assert 0 < low["audio"] <= 16_000 * 1.25, (full, low)

    # No video at all (`video: null`): the camera's sender stops, the voice carries on.
    server_session(app, room, "pt-ravi").send({
        "type": "uplink-budget", "room": room, "estimate_kbps": 40, "video": None, "audio": {"max_bitrate": 12_000},
    })
    await sender_parameters_become(patient, {"video": {"active": False}, "audio": {"maxBitrate": 12_000}},
                                   "the patient's video sender to stop")
    await asyncio.sleep(1.0)
    off = await outbound_rates(patient, 2.0)
    assert off["video"] < 2_000 and 5_000 < off["audio"] <= 12_000 * 1.25, off
    assert await frames_decoded_over(doctor, 1.5) <= 1
    own_words = patient.locator(".tile.self .quality")
    await expect(own_words).to_have_text("Weak network — others hear you but cannot see you")

    # The link recovers: video comes back, never above the page's own 600 kbit/s cap.
    server_session(app, room, "pt-ravi").send({
        "type": "uplink-budget", "room": room, "estimate_kbps": 3000,
        "video": {"max_bitrate": 2_000_000, "max_framerate": 12, "scale_resolution_down_by": 1},
        "audio": {"max_bitrate": 32_000},
    })
    back = {"video": {"active": True, "maxBitrate": 600_000, "maxFramerate": 12, "scaleResolutionDownBy": 1},
            "audio": {"maxBitrate": 32_000}}
    await sender_parameters_become(patient, back, "the patient's video to be back on")
    await wait_until(lambda: _grows(doctor), "the doctor to see the patient again")
    await expect(own_words).to_be_hidden()

    # A dropped socket: the page rejoins and republishes on a new connection, with the last budget on it.
    first_pc = await patient.evaluate_handle("window.vaidya.publishPc")
    await patient.evaluate("window.vaidya.client._ws.close()")
    await wait_until(
        lambda: patient.evaluate("(old) => !!window.vaidya.publishPc && window.vaidya.publishPc !== old", first_pc),
        "the patient's page to publish on a new connection",
        timeout=15.0,
    )
    await sender_parameters_become(patient, back, "the last budget on the republished senders")
    try:
        await wait_until(lambda: _grows(doctor), "the doctor to see the patient after the reconnect", timeout=20.0)
    except AssertionError as exc:
        budget = await patient.evaluate("JSON.stringify(window.vaidya.session.uplinkBudget)")
        raise AssertionError(f"{exc}; the doctor's page: {await doctor.evaluate(DIAGNOSE_JS)}; the patient's "
                             f"last budget: {budget}; the server: {_consumers_of(app, room, 'pt-ravi')}") from None
    assert errors == []


def _consumers_of(app: web.Application, room: str, identity: str) -> list[str]:
    """Each consumer of the participant's producers: whose it is, what it shows, paused or not, packets sent."""
    found = app[keys.REGISTRY].get(room)
    member = found.by_identity(identity) if found else None
    if member is None:
        return [f"{identity} is not in {room}"]
    return [f"{c.subscriber_id}: {c.source.id} paused={c.paused} packets={c.stats.packets} waiting_keyframe={c.stats.dropped_waiting_keyframe}"
            for p in member.producers() for c in found.router.consumers_showing(p.id)]


async def _grows(page: Page) -> bool:
    return await frames_decoded_over(page, 0.5) >= 3


async def test_a_budget_without_encodings_to_change_is_ignored(live_app: LiveApp, browser: Browser) -> None:
    """Sender parameters with no encodings yet (or none at all) are left alone instead of throwing."""
    base_url, _, _ = live_app
    errors: list[str] = []
    page = await open_page(browser, errors, "page", f"{base_url}/room/opd-empty")
    result = await page.evaluate(
        """async () => {
          const { budgetParameters } = await import("/static/vaidya-client.js");
          const budget = { video: { max_bitrate: 900000, scale_resolution_down_by: 0.5 }, audio: null };
          const filled = { encodings: [{ active: true }] };
          return [
            budgetParameters({}, "video", budget),
            budgetParameters({ encodings: [] }, "audio", budget),
            budgetParameters(filled, "video", budget),
            filled.encodings[0],
          ];
        }"""
    )
    # Nothing to set without encodings; with one, the 600 kbit/s cap and a downscale of at least 1 hold.
    assert result == [False, False, True, {"active": True, "maxBitrate": 600_000, "scaleResolutionDownBy": 1}]
    assert errors == []


async def frames_sent_by(page: Page, url: str) -> list[dict[str, Any]]:
    """Open `url` in `page` and record every WebSocket message the page sends from then on."""
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    await page.goto(url)
    return sent


async def test_save_data_and_the_doctors_pin_send_the_protocol_messages_the_server_accepts(
    live_app: LiveApp, browser: Browser
) -> None:
    base_url, secret, app = live_app
    room = "opd-pin"
    errors: list[str] = []
    doctor = await open_page(browser, errors, "doctor")
    await doctor.set_viewport_size({"width": 360, "height": 640})
    from_doctor = await frames_sent_by(doctor, token_link(base_url, secret, room, "dr-asha", "doctor"))
    patient = await open_page(browser, errors, "patient")
    from_patient = await frames_sent_by(patient, token_link(base_url, secret, room, "pt-ravi", "patient"))
    await assert_decodes_growing_video(doctor, "the doctor")
    patient_id = server_session(app, room, "pt-ravi").memberships[room].id

    # Only a doctor gets the pin control, and only on the others' tiles.
    pin = doctor.locator(".tile:not(.self) .pin")
    await expect(pin).to_have_count(1)
    assert await doctor.locator(".tile.self .pin").count() == 0
    assert await patient.locator(".pin").count() == 0
    assert await pin.locator("button[aria-pressed=true]").get_attribute("data-tier") == "auto"

    # Usable on a 360×640 phone: thumb-sized buttons, all inside the screen's width.
    for button in [*await pin.locator("button").all(), doctor.locator("#save-data")]:
        box = await button.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360, box

    await patient.click("#save-data")
    await doctor.click(".tile:not(.self) .pin button[data-tier=A]")
    sent = await wait_until(lambda: _sent(from_patient, "save-data") and _sent(from_doctor, "pin"), "the two messages")
    await doctor.click(".tile:not(.self) .pin button[data-tier=auto]")
    await wait_until(lambda: len(_sent(from_doctor, "pin")) == 2, "the unpin")

    # Each message is what docs/protocol.md says, and the server's parser accepts it as such.
    save = parse_message(json.dumps(_sent(from_patient, "save-data")[0]))
    assert save.fields == {"room": room, "enabled": True}
    pins = [parse_message(json.dumps(m)).fields for m in _sent(from_doctor, "pin")]
    assert pins == [{"room": room, "participant_id": patient_id, "tier": "A"},
                    {"room": room, "participant_id": patient_id, "tier": None}]
    assert sent and errors == []


def _sent(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == kind]


async def test_the_servers_replies_to_save_data_and_pin_show_on_both_pages_within_2_s(
    live_app: LiveApp, browser: Browser
) -> None:
    errors: list[str] = []
    room = "opd-pin-reply"
    doctor, patient = await doctor_and_patient(browser, live_app, room, errors)

    save = patient.locator("#save-data")
    await patient.click("#save-data")
    await expect(save).to_have_attribute("aria-pressed", "true", timeout=2_000)
    await expect(save).to_have_text("Stop saving data")
    # The choice is remembered on the device: a reloaded page asks for it again when it joins.
    await patient.reload()
    await expect(save).to_have_attribute("aria-pressed", "true", timeout=10_000)
    await patient.click("#save-data")
    await expect(save).to_have_attribute("aria-pressed", "false", timeout=2_000)
    await expect(save).to_have_text("Save data")
    await expect(doctor.locator(".tile:not(.self)")).to_have_count(1, timeout=5_000)  # the reloaded patient only

    await doctor.click(".tile:not(.self) .pin button[data-tier=A]")
    await expect(doctor.locator(".tile:not(.self) .pin button[data-tier=A]")).to_have_attribute(
        "aria-pressed", "true", timeout=2_000
    )
    await expect(patient.locator(".tile:not(.self) .quality")).to_have_text(
        "Audio only, set by the doctor", timeout=2_000
    )
    assert errors == []
