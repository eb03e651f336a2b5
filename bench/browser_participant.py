"""A consultation participant in a real browser: the project's room page in headless Chromium, measured.

It opens `…/room/<room>#token=…` in its own browser context of a shared `ChromiumHost` (whose fake
camera plays the stamped source), optionally behind a shaped link (`bench.browser_link`), and measures
what the page receives with `bench/browser_probe.js`: each remote frame's stamp is read in the page when
it is presented (`requestVideoFrameCallback`), so glass-to-glass latency, fps, freezes and frame loss are
counted by the same `VideoProbe` as for an aiortc participant, and every 10th frame's luma comes back
for PSNR. Chromium's own getStats (freezes, decoded frames, size, jitter buffer, audio concealment,
NACK/PLI) is reported beside it, per inbound track, over the same window.

It has `Participant`'s interface (start, video, start_window, rtp_counters, summary, close), so a
`ClientGroup` runs it in a role's seat unchanged. What differs, and why:
- the page's received time is `presentationTime` (the frame handed to the compositor), a little later
  than aiortc's "decoded frame reaches the application";
- audio markers are not detected in the page (its audio is judged by Chromium's concealment ratio);
- `nacked_packets` counts NACK messages (Chromium's nackCount), not packets named in them;
- `packets_lost` is Chromium's packetsLost (after retransmissions), not loss before repair.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from typing import Any

import numpy as np

from bench.browser_link import through_link
from bench.chromium_host import ChromiumHost
from bench.measure import VideoProbe, percentiles
from bench.participant import MediaPlan
from bench.report import concealed_ratio
from bench.stamp import Stamp

POLL_S = 0.5
JOIN_TIMEOUT_MS = 30_000
VIDEO_COUNTERS = (
    "framesDecoded", "framesDropped", "framesReceived", "keyFramesDecoded", "freezeCount", "totalFreezesDuration",
    "pauseCount", "totalPausesDuration", "jitterBufferDelay", "jitterBufferEmittedCount", "pliCount", "firCount",
    "nackCount", "packetsLost", "packetsReceived", "bytesReceived", "retransmittedPacketsReceived", "totalDecodeTime",
)
AUDIO_COUNTERS = (
    "concealedSamples", "silentConcealedSamples", "totalSamplesReceived", "concealmentEvents",
    "insertedSamplesForDeceleration", "removedSamplesForAcceleration", "jitterBufferDelay",
    "jitterBufferEmittedCount", "nackCount", "packetsLost", "packetsReceived", "bytesReceived",
)
SENT_COUNTERS = ("framesEncoded", "framesSent", "keyFramesEncoded", "packetsSent", "bytesSent",
                 "retransmittedPacketsSent", "nackCount", "pliCount", "firCount")
PUBLISHED_JS = "() => !!(window.vaidya?.session?.state === 'joined' && window.vaidya.publishPc?.remoteDescription)"


def window_stats(
    before: list[dict[str, Any]], after: list[dict[str, Any]], counters: tuple[str, ...], key: str = "trackIdentifier"
) -> list[dict[str, Any]]:
    """Per RTP stream (matched by `key`): counters as differences over the window, gauges as they are now.

    A stream that appeared during the window counts from zero.
    """
    start = {s.get(key): s for s in before}
    out = []
    for now in after:
        then = start.get(now.get(key), {})
        out.append({k: (v - then.get(k, 0) if k in counters else v) for k, v in now.items()})
    return out


def summarize_video_stats(stream: dict[str, Any]) -> dict[str, Any]:
    """One inbound video track's window: the raw figures plus the jitter buffer's mean delay in ms."""
    emitted = stream.get("jitterBufferEmittedCount") or 0
    return {**stream, "jitter_buffer_ms": round(1000 * stream.get("jitterBufferDelay", 0) / emitted, 1) if emitted else None}


def correct_send_times(browser: BrowserParticipant, receivers: list[Any]) -> None:
    """Time what receivers measured of a browser's camera and microphone from their real capture.

    The files' stamps and marker bursts are planned send times. Chromium's camera runs a little late
    under load and its microphone starts ~100 ms after it is opened; the page measures both
    (`camera_errors`: capture time − stamp, per frame; `microphone_errors`: burst onset − its second).
    Each one's window median is taken off the glass-to-glass and audio-marker samples of every receiver
    in the room that knows which of its streams are the browser's (`senders`: stream key → sender's
    participant id, as `Participant` and `BrowserParticipant` keep it; a browser has no audio markers).
    """
    if browser.participant_id is None:
        return
    camera = browser.send_time_correction_ms = float(np.median(browser.camera_errors)) if browser.camera_errors else None
    microphone = browser.microphone_correction_ms = (
        float(np.median(browser.microphone_errors)) if browser.microphone_errors else None
    )
    for receiver in receivers:
        if receiver is browser or receiver.room != browser.room:
            continue
        for producer, sender in getattr(receiver, "senders", {}).items():
            if sender != browser.participant_id:
                continue
            if camera is not None and producer in receiver.video:
                probe = receiver.video[producer]
                probe.latency_ms = [ms - camera for ms in probe.latency_ms]
            if microphone is not None and producer in getattr(receiver, "audio", {}):
                for mark in receiver.audio[producer].marks:
                    mark.latency_ms -= microphone


class BrowserParticipant:
    """One patient, doctor or hub specialist on the room page in Chromium, measured like a `Participant`."""

    def __init__(
        self,
        host: ChromiumHost,
        url: str,
        room: str,
        token: str,
        sends: MediaPlan,
        receives: MediaPlan,
        link: tuple[Any, int] | None = None,
    ) -> None:
        """`url`: the server's WebSocket URL; `sends` must be the host's camera plan; `link`: (shaper, link
        id) to put the page's media behind, or None for a direct path."""
        if sends != host.plan:
            raise ValueError("a browser sends its host's camera: one ChromiumHost per sending plan")
        self.host, self.room, self.token, self.sends, self.receives, self.link = host, room, token, sends, receives, link
        self.base_url = re.sub(r"^ws", "http", url).rsplit("/ws", 1)[0]
        #: remote video track id → its probe, and → participant id of its sender
        self.video: dict[str, VideoProbe] = {}
        self.senders: dict[str, str] = {}
        self.camera_errors: list[float] = []
        #: per track: frames the page presented whose callback never ran (a busy page's main thread)
        self.frames_unseen: dict[str, int] = {}
        self._presented: dict[str, int] = {}
        self.microphone_errors: list[float] = []
        self.page_errors: list[str] = []
        self.error: str | None = None
        self.participant_id: str | None = None
        self.send_time_correction_ms: float | None = None
        self.microphone_correction_ms: float | None = None
        self._context: Any = None
        self.page: Any = None
        self._task: asyncio.Task[None] | None = None
        self._polling = asyncio.Lock()
        self._stats: dict[str, Any] = {"video": [], "audio": [], "bytesReceived": 0}
        self._stats0: dict[str, Any] | None = None
        self._window_start = 0.0
        self._opened: float | None = None
        self._offered: float | None = None
        self._first_frame: float | None = None

    async def start(self) -> None:
        """Open the room page with the token (behind the link, if any) and wait until it has published."""
        await self.host.ready()
        self._context = await self.host.new_context()
        self.page = await self._context.new_page()
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        if self.link is not None:
            shaper, link = self.link
            await self.page.route_web_socket(re.compile(r"/ws$"), through_link(shaper, lambda: link))
        self._opened = time.time()
        await self.page.goto(f"{self.base_url}/room/{self.room}#token={self.token}")
        await self.page.wait_for_function(PUBLISHED_JS, timeout=JOIN_TIMEOUT_MS, polling=100)
        self.participant_id = await self.page.evaluate("window.vaidya.session.participantId")
        self._task = asyncio.ensure_future(self._poll_forever())

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await self._poll()
            except Exception as exc:  # noqa: BLE001 - a measuring failure is reported, not raised
                self.error = f"{type(exc).__name__}: {exc}"
                return

    async def _poll(self) -> None:
        """Bring the page's new frames and Chromium's stats into Python (one poll at a time, so frames are
        recorded in the order the page presented them)."""
        async with self._polling:
            await self._poll_once()

    async def _poll_once(self) -> None:
        taken = await self.page.evaluate("window.__bench.take()")
        if taken["openedMs"] is not None:
            self._opened = taken["openedMs"] / 1000
        if taken["offeredMs"] is not None and self._offered is None:
            self._offered = taken["offeredMs"] / 1000
        self.camera_errors += taken["cameraErrors"]
        self.microphone_errors += taken["microphoneErrors"]
        self.senders.update({track: sender for track, sender in taken["senders"] if track and sender})
        for track, frames in taken["frames"].items():
            probe = self.video.setdefault(track, self._video_probe())
            for shown_ms, counter, send_ms, width, height, presented, *luma in frames:
                now = shown_ms / 1000
                self._first_frame = self._first_frame or now
                last = self._presented.get(track)
                self._presented[track] = presented
                if now < self._window_start:
                    continue
                if last is not None and presented > last + 1:
                    self.frames_unseen[track] = self.frames_unseen.get(track, 0) + presented - last - 1
                found = Stamp(counter, send_ms) if counter >= 0 else None
                plane = (np.frombuffer(base64.b64decode(luma[0]), np.uint8).reshape(height, width) if luma else None)
                probe.record(now, width, height, found, plane)
        self._stats = await self.page.evaluate("window.__bench.stats()")

    def _video_probe(self) -> VideoProbe:
        # The page already picks which frames' luma to send (every 10th): use each one for PSNR.
        return VideoProbe((self.receives.width, self.receives.height), psnr_every=1,
                          counter_modulus=self.receives.counter_modulus)

    def start_window(self) -> None:
        """Measure afresh from now; Chromium's counters are taken as they are at the next poll."""
        self._window_start = time.time()
        self.send_time_correction_ms = self.microphone_correction_ms = None
        self.video = {track: self._video_probe() for track in self.video}
        self.camera_errors, self.microphone_errors = [], []
        self.frames_unseen = {}
        self._stats0 = None

    @property
    def join_ms(self) -> float | None:
        """getUserMedia returned (the page then opens its socket) → first remote frame presented; for
        whoever joined first, from when the other's video reached the page."""
        if self._opened is None or self._first_frame is None:
            return None
        return (self._first_frame - max(self._opened, self._offered or self._opened)) * 1000

    async def rtp_counters(self) -> dict[str, int]:
        """Inbound RTP packets received and lost (Chromium's counts) and transport bytes, polled now."""
        if self.page is not None:
            await self._poll()
        if self._stats0 is None:
            self._stats0 = self._stats
        inbound = self._stats["video"] + self._stats["audio"]
        return {
            "packets_received": sum(s.get("packetsReceived", 0) for s in inbound),
            "packets_lost": sum(max(0, s.get("packetsLost", 0)) for s in inbound),
            "bytes_received": int(self._stats["bytesReceived"]),
        }

    def chromium(self) -> dict[str, Any]:
        """Chromium's getStats over the window: per inbound track, and per outbound one (`sent`)."""
        before = self._stats0 or {"video": [], "audio": []}
        video = [summarize_video_stats(s) for s in window_stats(before["video"], self._stats["video"], VIDEO_COUNTERS)]
        audio = window_stats(before["audio"], self._stats["audio"], AUDIO_COUNTERS)
        sent = window_stats(before.get("sent", []), self._stats.get("sent", []), SENT_COUNTERS, key="kind")
        return {"video": video, "audio": audio, "sent": sent}

    def summary(self) -> dict[str, Any]:
        chromium = self.chromium()
        return {
            "room": self.room,
            "client": "chromium",
            "join_ms": self.join_ms,
            "video": [{**probe.summary(), "frames_presented_unseen": self.frames_unseen.get(track, 0)}
                      for track, probe in self.video.items()],
            "g2g_samples": [ms for probe in self.video.values() for ms in probe.latency_ms],
            "psnr_samples": [db for probe in self.video.values() for db in probe.psnr_db],
            "audio_latency_ms": [],
            "audio_marks_missing": 0,
            "audio_marks_misread": 0,
            "audio_concealed_ratio": concealed_ratio(chromium["audio"]),
            "nacked_packets": sum(s.get("nackCount", 0) for s in chromium["video"]),
            "plis": sum(s.get("pliCount", 0) for s in chromium["video"]),
            "chromium": chromium,
            "camera_stamp_error_ms": percentiles(self.camera_errors),
            "camera_aligned": {"error_ms": self.host.camera_stamp_error_ms, "tries": self.host.camera_opened_tries},
            "camera_send_time_correction_ms": self.send_time_correction_ms,
            "microphone_marker_error_ms": percentiles(self.microphone_errors),
            "microphone_correction_ms": self.microphone_correction_ms,
            "error": self.error or ("; ".join(self.page_errors[:3]) if self.page_errors else None),
        }

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._context is not None:
            try:
                await self._context.close()
            except Exception:  # noqa: BLE001 - the browser may already be gone at shutdown
                pass
