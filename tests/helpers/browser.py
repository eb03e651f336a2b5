"""Driving the room page in a real browser: Debian's Chromium under Playwright, against a real server.

Never `playwright install` (it downloads a browser): Playwright drives /usr/bin/chromium with a fake
camera and microphone. The page's test hook `window.vaidya` gives the client and its peer connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from bench.chromium_host import CHROMIUM, CHROMIUM_ARGS
from signaling.app import create_app
from signaling.config import load_config
from signaling.grants import mint_token
from tests.conftest import wait_until

HAVE_CHROMIUM = Path(CHROMIUM).exists()
NO_CHROMIUM = f"{CHROMIUM} is not installed (scripts/install-system-deps.sh installs it as root)"


@asynccontextmanager
async def running_app(
    data_dir: Path, listen: str = "127.0.0.1", **settings: object
) -> AsyncIterator[tuple[str, str, web.Application]]:
    """The real application on 127.0.0.1:<free port> (or every address, with listen="0.0.0.0"), configured
    with `settings` beyond the defaults; yields (base URL on 127.0.0.1, token secret, the app itself, so a
    test can reach the rooms and sessions it holds)."""
    config = load_config(overrides={"data_dir": data_dir, "host": "127.0.0.1", "port": 0, **settings})
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, listen, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", config.secret, app
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_server(data_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """The real application on 127.0.0.1:<free port>; yields (base URL, token secret)."""
    async with running_app(data_dir) as (base_url, secret, _app):
        yield base_url, secret


@asynccontextmanager
async def chromium(
    autoplay_policy: str = "no-user-gesture-required", extra_args: tuple[str, ...] = (), executable: str = CHROMIUM
) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, fake devices; each `open_page` gets a fresh context (fresh profile).
    `executable` may wrap it (e.g. to start it inside another network namespace)."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, args=[*args, f"--autoplay-policy={autoplay_policy}", *extra_args]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def sized_page(browser: Browser, width: int, height: int, phone: bool) -> Page:
    """A page in a fresh context with this viewport (a phone: touch, mobile layout). The context bypasses
    the pages' CSP so a test may inject a script such as axe-core; nothing else changes."""
    context = await browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone,
                                        has_touch=phone, bypass_csp=True)
    context.set_default_timeout(10_000)
    return await context.new_page()


def token_link(base_url: str, secret: str, room: str, identity: str, role: str) -> str:
    token = mint_token(secret, room=room, identity=identity, role=role, ttl_s=300)
    return f"{base_url}/room/{room}#token={token}"


async def open_page(
    browser: Browser, errors: list[str], name: str, url: str | None = None, locale: str | None = None
) -> Page:
    """A page in its own fresh browser context (with `locale` as the browser's language when given),
    recording script errors; opens `url` when given."""
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{name}: {msg.text}") if msg.type == "error" else None)
    if url is not None:
        await page.goto(url)
    return page


# The page's test hook (window.vaidya) exposes the client and its rooms' subscribe connections. Video
# from every inbound m-section is summed: after a renegotiation an old, inactive one may linger.
INBOUND_VIDEO_JS = """
async (room) => {
  if (!window.vaidya || !window.vaidya.client) return null;  // the page's module has not run yet
  const session = room ? window.vaidya.client.rooms.get(room) : window.vaidya.session;
  const pc = session ? session.subscribePc : null;
  if (!pc) return null;
  const report = await pc.getStats();
  let video = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      video = video || { framesDecoded: 0, frameWidth: 0 };
      video.framesDecoded += s.framesDecoded || 0;
      video.frameWidth = Math.max(video.frameWidth, s.frameWidth || 0);
    }
  });
  return video;
}
"""

async def doctor_and_patient(browser: Browser, errors: list[str], base_url: str, secret: str, room: str) -> Page:
    """Dr Asha's page and patient Gita's page in `room` (each publishing its fake camera); returns the
    patient's page."""
    await open_page(browser, errors, "doctor", token_link(base_url, secret, room, "dr-asha", "doctor"))
    return await open_page(browser, errors, "patient", token_link(base_url, secret, room, "pt-gita", "patient"))


async def inbound_video(page: Page, room: str | None = None) -> dict | None:
    """Decoded video on the page's subscribe connection (of `room`, or of the page's own room)."""
    return await page.evaluate(INBOUND_VIDEO_JS, room)


# What a page looks like when video does not arrive: enough to tell signaling, ICE, and playback apart.
DIAGNOSE_JS = """
async () => {
  const out = { status: document.getElementById("status").textContent, rooms: {} };
  out.videos = [...document.querySelectorAll(".tile video")].map((v) => ({
    muted: v.muted, paused: v.paused, readyState: v.readyState,
    tracks: v.srcObject ? v.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted}`) : [],
  }));
  for (const [name, s] of window.vaidya.client?.rooms ?? []) {
    const room = (out.rooms[name] = { state: s.state, remote: [...s.remote.keys()] });
    for (const [label, pc] of [["publish", s.publishPc], ["subscribe", s.subscribePc]]) {
      if (!pc) continue;
      room[label] = { connection: pc.connectionState, ice: pc.iceConnectionState, rtp: [] };
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" || r.type === "outbound-rtp") {
          room[label].rtp.push([r.type, r.kind, r.packetsReceived ?? r.packetsSent, r.framesDecoded, r.frameWidth]);
        }
      });
    }
  }
  return out;
}
"""


async def assert_decodes_growing_video(page: Page, who: str, room: str | None = None) -> None:
    try:
        first = await wait_until(
            lambda: _decoding(page, room), f"{who}'s page to decode video", timeout=25.0, interval=0.25
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the page: {await page.evaluate(DIAGNOSE_JS)}") from None
    await asyncio.sleep(2.0)
    later = await inbound_video(page, room)
    assert later is not None and later["frameWidth"] > 0, f"{who}: {later}"
    # The fake camera runs at ~15–30 fps; two seconds must bring many more decoded frames, not a trickle.
    assert later["framesDecoded"] >= first["framesDecoded"] + 10, f"{who}: {first} then {later}"


async def _decoding(page: Page, room: str | None) -> dict | None:
    video = await inbound_video(page, room)
    if video and video["framesDecoded"] > 0 and video["frameWidth"] > 0:
        return video
    return None


async def frames_decoded_over(page: Page, seconds: float, room: str | None = None) -> int:
    before = await inbound_video(page, room)
    await asyncio.sleep(seconds)
    after = await inbound_video(page, room)
    return (after or {}).get("framesDecoded", 0) - (before or {}).get("framesDecoded", 0)


# Who a page receives: inbound streams of each kind that carried something (decoded frames, audio energy).
INBOUND_PEERS_JS = """
async () => {
  const pc = window.vaidya && window.vaidya.session && window.vaidya.session.subscribePc;
  if (!pc) return { video: 0, audio: 0 };
  let video = 0, audio = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video" && (s.framesDecoded || 0) > 0) video += 1;
    if (s.kind === "audio" && (s.totalAudioEnergy || 0) > 0) audio += 1;
  });
  return { video, audio };
}
"""


async def sees_and_hears(page: Page, others: int) -> bool:
    """Whether the page decodes video and plays audio from `others` participants."""
    got = await page.evaluate(INBOUND_PEERS_JS)
    return got["video"] >= others and got["audio"] >= others
