"""One headless Chromium for the bench's browser participants, its fake camera playing the stamped source.

Debian's Chromium (`/usr/bin/chromium`) under Playwright — never `playwright install`, which downloads
a browser. Its fake camera plays a Y4M file of bench's stamped source at the participants' `MediaPlan`
size and rate, its fake microphone a WAV of the marked audio (`bench.camera_file`).

The camera's send times. Chromium runs one capture device for all the pages that open the same camera,
so the device is started once, by a keeper page, at a planned instant: the file's frame 0 is stamped
with that instant and frame n with n frame intervals later. The keeper reads the capture time of its
first frames (`requestVideoFrameCallback`'s `captureTime`) against their stamps; the first opening of a
device takes ~80–160 ms, a re-opening ~8 ms, so it re-opens (rewriting the file for a new instant, up to
`ALIGN_TRIES` times) until the stamps are within `ALIGN_MS` of the capture times. Every participant page
keeps measuring that error on its own preview (`camera_stamp_error_ms` in its summary). The microphone is
opened per page; its file is rewritten just before each page opens it (`microphone_at`), so the marker
bursts start on their seconds to within the microphone's opening latency, which is not measured.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench import stamp
from bench.camera_file import write_wav, write_y4m
from bench.participant import MediaPlan

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
]
PROBE_JS = (Path(__file__).with_name("browser_probe.js")).read_text(encoding="utf-8")
CAMERA_PAGE = "/__bench_camera"
"""A path on the server's origin (a secure context for getUserMedia) that the keeper page is served at
by Playwright itself: the server never sees the request."""
ROOM_PAGE_VIDEO = {"width": {"ideal": 640}, "height": {"ideal": 360}, "frameRate": {"ideal": 15, "max": 24}}
"""The room page's camera constraints (signaling/static/room.js): the keeper asks the same, so the pages
share its device rather than opening one of their own."""
ALIGN_MS = 5.0
ALIGN_TRIES = 6
OPEN_AHEAD_MS = 700
"""How far ahead the camera's opening instant is planned: time to write the file and reach the page."""
MICROPHONE_AHEAD_MS = 250


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


class BrowserError(RuntimeError):
    """Chromium could not be started or did not play the stamped camera."""


class ChromiumHost:
    """A headless Chromium whose fake camera and microphone play `plan`'s stamped source."""

    def __init__(self, base_url: str, plan: MediaPlan) -> None:
        self.base_url, self.plan = base_url, plan
        self._dir = tempfile.TemporaryDirectory(prefix="vaidya-browser-")
        self.camera_path = Path(self._dir.name) / "camera.y4m"
        self.microphone_path = Path(self._dir.name) / "microphone.wav"
        self.camera_stamp_error_ms: float | None = None
        """capture time − stamped send time of the camera's frames, as the keeper measured it."""
        self.camera_opened_tries = 0
        self._playwright: Any = None
        self._browser: Any = None
        self._keeper: Any = None
        self._starting: asyncio.Future[None] | None = None
        self._driver: list[psutil.Process] = []

    async def ready(self) -> None:
        """Started once, whoever asks first (participants join concurrently)."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        """Launch Chromium and start its camera at a planned instant (see the module's docstring)."""
        from playwright.async_api import async_playwright

        if not Path(CHROMIUM).exists():
            raise BrowserError(f"{CHROMIUM} is not installed (scripts/install-system-deps.sh installs it)")
        write_y4m(self.camera_path, self.plan.width, self.plan.height, self.plan.fps, 0)
        write_wav(self.microphone_path, 0)
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={self.camera_path}",
                  f"--use-file-for-fake-audio-capture={self.microphone_path}"],
        )
        me = psutil.Process()
        self._driver = [p for p in me.children() if "playwright" in " ".join(_cmdline(p))]
        context = await self.new_context(microphone=False)
        await context.route(self.base_url + CAMERA_PAGE, lambda route: route.fulfill(
            content_type="text/html", body="<!doctype html><title>bench camera</title><body></body>"))
        self._keeper = await context.new_page()
        await self._keeper.goto(self.base_url + CAMERA_PAGE)
        await self._align_camera()

    async def _align_camera(self) -> None:
        ahead = 0.0  # how long before frame 0's planned instant the device must be asked to open
        for attempt in range(ALIGN_TRIES):
            planned = time.time() * 1000 + OPEN_AHEAD_MS
            write_y4m(self.camera_path, self.plan.width, self.plan.height, self.plan.fps,
                      int(planned) % stamp.STAMP_PERIOD_MS)
            error = await self._keeper.evaluate(
                "([at, video]) => window.__bench.openCamera(at, { video })", [int(planned) - ahead, ROOM_PAGE_VIDEO]
            )
            if error is None:
                raise BrowserError("Chromium's fake camera gave no frame whose stamp could be read")
            self.camera_stamp_error_ms = float(error)
            self.camera_opened_tries = attempt + 1
            if abs(error) <= ALIGN_MS or attempt == ALIGN_TRIES - 1:
                return  # the camera stays open: every page shares it from now on
            ahead += error
            await self._keeper.evaluate("window.__bench.closeCamera()")

    async def new_context(self, microphone: bool = True) -> Any:
        """A fresh browser context (a fresh profile) with the page probe; with `microphone`, the pages'
        getUserMedia waits for the microphone file to be written for its instant."""
        if self._browser is None:
            raise BrowserError("ChromiumHost.start() first")
        # The probe loads its AudioWorklet from a blob: URL, which the room page's CSP (script-src 'self')
        # refuses; the bench's own contexts bypass the policy, the product's pages keep it.
        context = await self._browser.new_context(bypass_csp=True)
        await context.add_init_script(PROBE_JS)
        if microphone:
            await context.expose_function("benchMicrophoneAt", self.microphone_at)
        return context

    def microphone_at(self) -> int:
        """Rewrite the microphone file for an instant just ahead and return it (wall-clock ms)."""
        at = int(time.time() * 1000) + MICROPHONE_AHEAD_MS
        write_wav(self.microphone_path, at % stamp.STAMP_PERIOD_MS)
        return at

    def cpu_seconds(self) -> float:
        """CPU time of Playwright's driver and the Chromium processes under it, as they are now (the
        processes of closed pages are gone with their time)."""
        total = 0.0
        for driver in self._driver:
            try:
                processes = [driver, *driver.children(recursive=True)]
            except psutil.Error:
                continue
            for process in processes:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    pass
        return total

    async def close(self) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
            if self._playwright is not None:
                await self._playwright.stop()
        finally:
            self._browser = self._playwright = self._keeper = None
            self._dir.cleanup()
