"""A group of synthetic consultations run by one process: the unit a load-generator worker owns.

`ClientGroup` creates the participants of each consultation it is given (patient, doctor and, with a
third party, a hub specialist), gives each its own shaped link when the profile needs one, and measures
in windows. Its methods return plain data, so a worker process can send them to the coordinator
unchanged (`bench.worker`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.measure import percentiles
from bench.participant import MediaPlan, Participant
from bench.profiles import LinkProfile
from bench.shaped_peer import shaped_factory
from bench.shaper_process import ShaperControl
from signaling.grants import mint_token


def warm_up(plan: MediaPlan) -> None:
    """Encode the media loops before anyone joins, so join times measure the network, not the encoder."""
    from bench.audio_marks import encode_loop as encode_audio
    from bench.video_source import encode_loop as encode_video

    encode_video(plan.width, plan.height, plan.fps, plan.video_bps)
    encode_audio(plan.audio_bps)


class LoopLag:
    """How late this process's event loop wakes from a short sleep: a generator that cannot keep up
    shows here (GIL contention with decoder threads, a blocked loop) even when its CPU looks modest."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            self.samples.append((loop.time() - start - self.interval) * 1000)

    def close(self) -> None:
        self._task.cancel()


class ClientGroup:
    """The consultations one process runs against one server."""

    def __init__(
        self, url: str, secret: str, profile: LinkProfile, third_party: bool, shaper: ShaperControl | None,
        browser_seats: frozenset[str] = frozenset(),
    ) -> None:
        """`browser_seats`: seats (patient, doctor, hub) taken by Chromium on the room page, not aiortc."""
        self.url, self.secret, self.profile, self.third_party, self.shaper = url, secret, profile, third_party, shaper
        self.plan = MediaPlan.for_link(profile)
        self.browser_seats = browser_seats
        self._chromium: dict[MediaPlan, Any] = {}  # one ChromiumHost per camera plan
        self.participants: list[Any] = []
        self.seats: list[str] = []
        self.links: list[int] = []
        self.failures: list[str] = []
        self._cursors: dict[int, int] = {}
        self._rtp0: list[dict[str, int]] = []
        self.lag = LoopLag()
        warm_up(self.plan)

    def _participant(self, room: str, identity: str, role: str, seat: str) -> Any:
        token = mint_token(self.secret, room=room, identity=identity, role=role, ttl_s=3600)
        link = None
        if self.shaper is not None:
            link = self.shaper.add_link(self.profile)
            self.links.append(link)
        if seat in self.browser_seats:
            participant: Any = self._browser_participant(room, token, self.plan, self.plan, link)
        else:
            factory = shaped_factory(self.shaper, link) if self.shaper is not None and link is not None else None
            participant = Participant(self.url, room, token, self.plan, self.plan, factory)
        self.participants.append(participant)
        self.seats.append(seat)
        return participant

    def _browser_participant(self, room: str, token: str, sends: MediaPlan, receives: MediaPlan, link: int | None) -> Any:
        from bench.browser_participant import BrowserParticipant
        from bench.chromium_host import ChromiumHost

        if sends not in self._chromium:
            base_url = self.url.replace("ws://", "http://").replace("wss://", "https://").rsplit("/ws", 1)[0]
            self._chromium[sends] = ChromiumHost(base_url, sends)
        shaped = (self.shaper, link) if self.shaper is not None and link is not None else None
        return BrowserParticipant(self._chromium[sends], self.url, room, token, sends, receives, shaped)

    async def add_consult(self, index: int) -> None:
        """Join consultation `index`: its members connect, join and publish, one after another."""
        room = f"bench-consult-{index}"
        members = [self._participant(room, f"patient-{index}", "patient", "patient"),
                   self._participant(room, f"doctor-{index}", "doctor", "doctor")]
        if self.third_party:
            members.append(self._participant(room, f"specialist-{index}", "doctor", "hub"))
        try:
            for member in members:
                await member.start()
        except Exception as exc:  # noqa: BLE001 - one failed consult is reported, the run goes on
            self.failures.append(f"consult {index}: {type(exc).__name__}: {exc}")

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until every participant decodes video from every other member (or `timeout` passes)."""
        others = 2 if self.third_party else 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(sum(1 for v in p.video.values() if v.frames) >= others for p in self.participants):
                return
            await asyncio.sleep(0.1)

    async def open_window(self) -> None:
        """Measure afresh from now."""
        for participant in self.participants:
            participant.start_window()
        self.lag.samples = []
        self._cursors = {}
        self._rtp0 = [await p.rtp_counters() for p in self.participants]

    async def tick(self) -> dict[str, Any]:
        """Frames decoded so far in the window, and the latencies measured since the last tick."""
        probes = [probe for p in self.participants for probe in p.video.values()]
        fresh = [ms for probe in probes for ms in probe.latency_ms[self._cursors.get(id(probe), 0):]]
        self._cursors = {id(probe): len(probe.latency_ms) for probe in probes}
        return {"frames": sum(probe.frames for probe in probes), "streams": len(probes), "latencies": fresh}

    async def close_window(self) -> dict[str, Any]:
        """Everything measured in the window, as plain data."""
        rtp1 = [await p.rtp_counters() for p in self.participants]
        self._correct_browser_send_times()
        return {
            "summaries": [{"seat": seat, **p.summary()} for seat, p in zip(self.seats, self.participants)],
            "rtp": [{key: b[key] - a.get(key, 0) for key in b} for a, b in zip(self._rtp0 or [{}] * len(rtp1), rtp1)],
            "failures": list(self.failures),
            "links": list(self.links),
            "loop_lag_ms": percentiles(self.lag.samples),
        }

    def browser_cpu_seconds(self) -> float:
        """CPU time of this group's Chromium (and its Playwright driver) so far."""
        return sum(host.cpu_seconds() for host in self._chromium.values())

    def _correct_browser_send_times(self) -> None:
        """What others received from a browser's camera and microphone is timed from their real capture
        (see `bench.browser_participant.correct_send_times`)."""
        if self._chromium:
            from bench.browser_participant import BrowserParticipant, correct_send_times

            for browser in self.participants:
                if isinstance(browser, BrowserParticipant):
                    correct_send_times(browser, self.participants)

    async def close(self) -> None:
        self.lag.close()
        await asyncio.gather(*(p.close() for p in self.participants), return_exceptions=True)
        await asyncio.gather(*(host.close() for host in self._chromium.values()), return_exceptions=True)
