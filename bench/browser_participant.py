"""A consultation participant in a real browser: the project's room page in headless Chromium, measured.

It opens `…/room/<room>#token=…` in its own browser context of a shared `ChromiumHost` (whose fake
camera plays the stamped source), optionally behind a shaped link (`bench.browser_link`), and measures
what the page receives with `bench/browser_probe.js`: each remote frame's stamp is read in the page when
it is presented (`requestVideoFrameCallback`), so glass-to-glass latency, fps, freezes and frame loss are
counted by the same `VideoProbe` as for an aiortc participant, and every 10th frame's luma comes back
for PSNR. Chromium's own getStats (freezes, decoded frames, size, jitter buffer, audio concealment,
NACK/PLI) is reported beside it, per inbound track, over the same window.

It is a `bench.members.Member` (`ChromiumKind`, registered as the member kind `chromium`), so a
`ClientGroup` runs it in any role unchanged, and its summary has `Participant.summary`'s keys: the
server's `quality` events are the ones the page's client library receives (its session's `quality`
events, stamped on arrival in the page), so `tier_seconds` and `switches` read for a browser role too.
What differs, and why:
- the page's received time is `presentationTime` (the frame handed to the compositor), a little later
  than aiortc's "decoded frame reaches the application";
- audio markers are not detected in the page (its audio is judged by Chromium's concealment ratio);
- `nacked_packets` counts NACK messages (Chromium's nackCount), not packets named in them;
- `packets_lost` is Chromium's packetsLost (after retransmissions), not loss before repair;
- a server's `left` makes the page rejoin by itself (`rejoins`); only a session that ended counts as
  `removed`.
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
from bench.members import Member, MemberSpec
from bench.participant import MediaPlan
from bench.report import concealed_ratio
from bench.stamp import Stamp
from bench.tiers import EVENT_FIELDS

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
        role: str,
        plans: dict[str, MediaPlan],
        link: tuple[Any, int] | None = None,
    ) -> None:
        """`url`: the server's WebSocket URL; `plans`: what each role sends (this role's must be the host's
        camera plan); `link`: (shaper, link id) to put the page's media behind, or None for a direct path."""
        if plans[role] != host.plan:
            raise ValueError("a browser sends its host's camera: one ChromiumHost per sending plan")
        self.host, self.room, self.token, self.role, self.plans, self.link = host, room, token, role, plans, link
        self.sends = plans[role]
        self.base_url = http_base(url)
        #: remote video track id → its probe, and → participant id of its sender
        self.video: dict[str, VideoProbe] = {}
        self.senders: dict[str, str] = {}
        #: remote track id → producer id; producer id → its kind and the role publishing it
        self.producers: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self.quality_events: list[dict[str, Any]] = []
        self.window: tuple[float, float | None] = (time.time(), None)
        #: when the session ended on the server's word (replaced, …), and the times the page rejoined by itself
        self.removed: dict[str, Any] | None = None
        self.rejoins: list[dict[str, Any]] = []
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
        self._learn(taken)
        for track, frames in taken["frames"].items():
            probe = self.video.setdefault(track, self._video_probe(track))
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

    def _learn(self, taken: dict[str, Any]) -> None:
        """What the page's session said since the last poll: each remote track's producer and sender,
        the server's `quality` events, and the session leaving the room."""
        for track, producer, sender, kind, identity in taken["remote"]:
            if not track:
                continue
            if sender:
                self.senders[track] = sender
            if producer:
                role = str(identity or "").rsplit("-", 1)[0]
                self.producers[track], self.kinds[producer] = producer, kind
                self.sources[producer] = role if role in self.plans else self.sources.get(producer, self.role)
        self.quality_events += [{"t": arrived / 1000, **{key: detail.get(key) for key in EVENT_FIELDS}}
                                for arrived, detail in taken["quality"]]
        for at, reason in taken["left"]:
            if reason == "reconnecting":
                self.rejoins.append({"t": at / 1000, "reason": "the server took the page out; it rejoined"})
            elif self.removed is None:
                self.removed = {"t": at / 1000, "reason": reason}
                self.error = f"the page's session ended ({reason})"

    def _video_probe(self, track: str) -> VideoProbe:
        # The page already picks which frames' luma to send (every 10th): use each one for PSNR.
        source = self.plans[self.sources.get(self.producers.get(track, ""), self.role)]
        return VideoProbe((source.width, source.height), psnr_every=1, counter_modulus=source.counter_modulus)

    def videos_arriving(self) -> int:
        return sum(1 for probe in self.video.values() if probe.frames)

    def start_window(self) -> None:
        """Measure afresh from now; Chromium's counters are taken as they are at the next poll."""
        self._window_start = time.time()
        self.window = (self._window_start, None)
        self.send_time_correction_ms = self.microphone_correction_ms = None
        self.video = {track: self._video_probe(track) for track in self.video}
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
        """Everything measured since `start_window` (the window closes now): `Participant.summary`'s keys,
        plus Chromium's getStats (`chromium`) and the camera's and microphone's alignment."""
        self.window = (self.window[0], time.time())
        chromium = self.chromium()
        return {
            "room": self.room,
            "role": self.role,
            "client": "chromium",
            "window": list(self.window),
            "received": [{"producer_id": p, "kind": kind, "from_role": self.sources.get(p)}
                         for p, kind in self.kinds.items()],
            "quality_events": list(self.quality_events),
            "removed": self.removed,
            "rejoins": list(self.rejoins),
            "join_ms": self.join_ms,
            "video": [{"producer_id": self.producers.get(track), **probe.summary(),
                       "frames_presented_unseen": self.frames_unseen.get(track, 0)}
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


def http_base(url: str) -> str:
    """The server's HTTP root from its WebSocket URL (`ws://host:port/ws` → `http://host:port`)."""
    return re.sub(r"^ws", "http", url).rsplit("/ws", 1)[0]


class ChromiumKind:
    """The `chromium` member kind of one `ClientGroup`: its browser members share one `ChromiumHost` per
    sending plan (a browser's fake camera is its whole process's), and their captures' measured lateness
    corrects what the others received from them at the end of each window."""

    def __init__(self) -> None:
        self.hosts: dict[MediaPlan, ChromiumHost] = {}

    def member(self, spec: MemberSpec) -> Member:
        sends = spec.plans[spec.role]
        if sends not in self.hosts:
            self.hosts[sends] = ChromiumHost(http_base(spec.url), sends)
        link = (spec.shaper, spec.link) if spec.shaper is not None and spec.link is not None else None
        return BrowserParticipant(self.hosts[sends], spec.url, spec.room, spec.token, spec.role, spec.plans, link)

    def finish_window(self, members: list[Member]) -> None:
        for member in members:
            if isinstance(member, BrowserParticipant):
                correct_send_times(member, members)

    def cpu_seconds(self) -> float:
        """CPU time of the group's Chromium processes (and their Playwright drivers) so far."""
        return sum(host.cpu_seconds() for host in self.hosts.values())

    async def close(self) -> None:
        await asyncio.gather(*(host.close() for host in self.hosts.values()), return_exceptions=True)
