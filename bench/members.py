"""Which kind of client plays each role: the seam between a consultation and its participants.

`ClientGroup` makes one `MemberKind` per kind it uses (`MEMBER_KINDS[kind]()`, `kind` chosen per role,
or `light` for a whole light consultation; default `aiortc`: `bench.participant.Participant`) and asks
it for each member. A kind owns what its members share (Chromium's processes for `chromium`:
`bench.browser_participant.ChromiumKind`; `light`: `bench.light_participant.LightKind` publishes but
only counts what it receives) and may correct the window's measurements before they are summarised. Kinds are names so a worker
process's JSON config can carry them (`--workers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCPeerConnection

from bench.measure import VideoProbe
from bench.participant import MediaPlan, Participant
from bench.shaped_peer import shaped_factory
from bench.shaper_process import ShaperControl

DEFAULT_KIND = "aiortc"


class Member(Protocol):
    """What a consultation needs of a participant, whatever the client behind it."""

    role: str
    room: str
    video: dict[str, VideoProbe]
    """Producer id → probe of each received video stream (settling and the live timeline read them)."""

    async def start(self) -> None:
        """Connect, join, publish."""

    def videos_arriving(self) -> int:
        """How many other members' video has reached this one (settling waits for all of them)."""

    def start_window(self) -> None:
        """Measure afresh from now."""

    async def rtp_counters(self) -> dict[str, int]:
        """`packets_received`, `packets_lost`, `bytes_received` so far."""

    def summary(self) -> dict[str, Any]:
        """The window's measurements: the keys `Participant.summary` returns."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class MemberSpec:
    """Everything one member needs to join its room through its own link."""

    url: str
    room: str
    token: str
    role: str
    plans: dict[str, MediaPlan]
    """What each role sends: this member's own plan, and the source of every stream it receives."""
    shaper: ShaperControl | None
    link: int | None
    """This member's link in the shaper, or None when its role is on an unshaped link."""


class MemberKind(Protocol):
    """One kind of client in one `ClientGroup`: makes its members and owns what they share."""

    def member(self, spec: MemberSpec) -> Member: ...

    def finish_window(self, members: list[Member]) -> None:
        """Correct what the window measured (all the group's `members`) before it is summarised."""

    def cpu_seconds(self) -> float:
        """CPU time so far of processes this kind runs beside the group's own (0: none)."""

    async def close(self) -> None: ...


class InProcessKind:
    """A kind whose members run in the group's own process and share nothing: no processes beside it,
    nothing to correct after a window."""

    def finish_window(self, members: list[Member]) -> None:
        pass

    def cpu_seconds(self) -> float:
        return 0.0

    async def close(self) -> None:
        pass


class AiortcKind(InProcessKind):
    """Members that are `Participant`s in this process, each behind its role's shaped link if it has one."""

    def member(self, spec: MemberSpec) -> Member:
        return Participant(spec.url, spec.room, spec.token, spec.role, spec.plans, spec_factory(spec))


def spec_factory(spec: MemberSpec) -> Callable[[], RTCPeerConnection] | None:
    """Peer connections behind the member's shaped link, or None (aiortc's default) on an unshaped one."""
    return shaped_factory(spec.shaper, spec.link) if spec.shaper is not None and spec.link is not None else None


def _light_kind() -> MemberKind:
    from bench.light_participant import LightKind  # imports this module's MemberSpec

    return LightKind()


def _chromium_kind() -> MemberKind:
    from bench.browser_participant import ChromiumKind  # Playwright only when a browser takes part

    return ChromiumKind()


CHROMIUM_KIND = "chromium"
LIGHT_KIND = "light"
"""Publishes like a full member, only counts the RTP it receives (`bench.light_participant`): the
consultations `--light` runs besides its probes."""
MEMBER_KINDS: dict[str, Callable[[], MemberKind]] = {DEFAULT_KIND: AiortcKind, CHROMIUM_KIND: _chromium_kind,
                                                    LIGHT_KIND: _light_kind}
