"""A group of synthetic consultations run by one process: the unit a load-generator worker owns.

`ClientGroup` creates the participants of each consultation it is given (patient, doctor and, with a
third party, a hub specialist), each played by the kind of client its role asks for (`bench.members`),
gives each its own shaped link when its role's link needs one, reshapes those links at the role's
schedule steps during the window, and measures in windows. Its methods return plain data, so a worker
process can send them to the coordinator unchanged (`bench.worker`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.measure import percentiles
from bench.members import DEFAULT_KIND, LIGHT_KIND, MEMBER_KINDS, Member, MemberKind, MemberSpec
from bench.participant import MediaPlan
from bench.role_links import RoleLinks, roles
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


def consult_room(index: int) -> str:
    """The room consultation `index` meets in."""
    return f"bench-consult-{index}"


TOKEN_ROLE = {"patient": "patient", "doctor": "doctor", "hub": "doctor"}
"""The server's role for each bench role: a hub specialist is a doctor."""


def role_plans(links: RoleLinks) -> dict[str, MediaPlan]:
    """What each role's synthetic client sends: a plan for the weakest link it ever has."""
    return {role: MediaPlan.for_link(links.weakest(role)) for role in links.profiles}


class ClientGroup:
    """The consultations one process runs against one server."""

    def __init__(
        self,
        url: str,
        secret: str,
        links: RoleLinks,
        third_party: bool,
        shaper: ShaperControl | None,
        kinds: dict[str, str] | None = None,
    ) -> None:
        """`kinds`: role → a `MEMBER_KINDS` name (default aiortc for every role)."""
        self.url, self.secret, self.links, self.third_party, self.shaper = url, secret, links, third_party, shaper
        self.kinds = kinds or {}
        self._member_kinds: dict[str, MemberKind] = {}
        self.plans = role_plans(links)
        self.participants: list[Member] = []
        self.link_ids: list[int] = []
        self.role_links: dict[str, list[int]] = {}
        self.link_changes: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self._cursors: dict[int, int] = {}
        self._rtp0: list[dict[str, int]] = []
        self._schedule: asyncio.Task[None] | None = None
        self.lag = LoopLag()
        for plan in set(self.plans.values()):
            warm_up(plan)

    def _participant(self, index: int, role: str, light: bool = False) -> Member:
        room = consult_room(index)
        token = mint_token(self.secret, room=room, identity=f"{role}-{index}", role=TOKEN_ROLE[role], ttl_s=3600)
        link = None
        if self.shaper is not None and self.links.shaped(role):
            link = self.shaper.add_link(self.links.initial(role))
            self.link_ids.append(link)
            self.role_links.setdefault(role, []).append(link)
        kind = self._kind(LIGHT_KIND if light else self.kinds.get(role, DEFAULT_KIND))
        participant = kind.member(MemberSpec(self.url, room, token, role, self.plans, self.shaper, link))
        self.participants.append(participant)
        return participant

    def _kind(self, name: str) -> MemberKind:
        """The kind `name`, made on first use and shared by the group's members of that kind."""
        if name not in self._member_kinds:
            self._member_kinds[name] = MEMBER_KINDS[name]()
        return self._member_kinds[name]

    async def add_consult(self, index: int, light: bool = False) -> None:
        """Join consultation `index`: its members connect, join and publish, one after another. `light`:
        every member is a `LightParticipant` (counts what it receives, measures no picture)."""
        members = [self._participant(index, role, light) for role in roles(self.third_party)]
        try:
            for member in members:
                await member.start()
        except Exception as exc:  # noqa: BLE001 - one failed consult is reported, the run goes on
            self.failures.append(f"consult {index}: {type(exc).__name__}: {exc}")

    async def remove_consult(self, index: int) -> list[Member]:
        """Consultation `index` leaves: its members hang up and are measured no more. Returns them (their
        join times stay readable). Its members' shaped links, if any, stay in the shaper."""
        room = consult_room(index)
        leaving = [p for p in self.participants if p.room == room]
        self.participants = [p for p in self.participants if p.room != room]
        await asyncio.gather(*(p.close() for p in leaving), return_exceptions=True)
        return leaving

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until every participant receives video from every other member (or `timeout` passes)."""
        others = 2 if self.third_party else 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p.videos_arriving() >= others for p in self.participants):
                return
            await asyncio.sleep(0.1)

    async def open_window(self) -> None:
        """Measure afresh from now; the link schedules' clock starts now."""
        for participant in self.participants:
            participant.start_window()
        self.link_changes = []
        if self.shaper is not None and any(self.links.changes(role) for role in self.role_links):
            self._schedule = asyncio.ensure_future(self._follow_schedules(time.time()))
        self.lag.samples = []
        self._cursors = {}
        self._rtp0 = [await p.rtp_counters() for p in self.participants]

    async def _follow_schedules(self, start: float) -> None:
        """Reshape each scheduled role's links at its steps' times (seconds after `start`)."""
        assert self.shaper is not None
        steps = sorted((step.at_s, role, step.profile) for role in self.role_links for step in self.links.changes(role))
        for at, role, profile in steps:
            await asyncio.sleep(max(0.0, start + at - time.time()))
            for link in self.role_links[role]:
                self.shaper.set_profile(link, profile)
            self.link_changes.append({"role": role, "t": time.time(), "at_s": at, "profile": profile.name,
                                      "links": len(self.role_links[role])})

    async def tick(self) -> dict[str, Any]:
        """Frames decoded so far in the window and the latencies measured since the last tick, in all and
        per receiving role (`roles`)."""
        roles: dict[str, dict[str, Any]] = {}
        cursors: dict[int, int] = {}
        for participant in self.participants:
            entry = roles.setdefault(participant.role, {"frames": 0, "streams": 0, "latencies": []})
            for probe in participant.video.values():
                entry["frames"] += probe.frames
                entry["streams"] += 1
                entry["latencies"] += probe.latency_ms[self._cursors.get(id(probe), 0):]
                cursors[id(probe)] = len(probe.latency_ms)
        self._cursors = cursors
        return {"frames": sum(r["frames"] for r in roles.values()), "streams": sum(r["streams"] for r in roles.values()),
                "latencies": [ms for r in roles.values() for ms in r["latencies"]], "roles": roles}

    async def close_window(self) -> dict[str, Any]:
        """Everything measured in the window, as plain data."""
        if self._schedule is not None:
            self._schedule.cancel()
            self._schedule = None
        rtp1 = [await p.rtp_counters() for p in self.participants]
        for kind in self._member_kinds.values():
            kind.finish_window(self.participants)
        return {
            "summaries": [p.summary() for p in self.participants],
            "rtp": [{key: b[key] - a.get(key, 0) for key in b} for a, b in zip(self._rtp0 or [{}] * len(rtp1), rtp1)],
            "failures": list(self.failures),
            "links": list(self.link_ids),
            "link_changes": list(self.link_changes),
            "loop_lag_ms": percentiles(self.lag.samples),
        }

    def kinds_cpu_seconds(self) -> float:
        """CPU time so far of the processes this group's member kinds run beside it (Chromium and its
        Playwright driver)."""
        return sum(kind.cpu_seconds() for kind in self._member_kinds.values())

    async def close(self) -> None:
        if self._schedule is not None:
            self._schedule.cancel()
        self.lag.close()
        await asyncio.gather(*(p.close() for p in self.participants), return_exceptions=True)
        await asyncio.gather(*(kind.close() for kind in self._member_kinds.values()), return_exceptions=True)
