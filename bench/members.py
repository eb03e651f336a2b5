"""Which kind of client plays each role: the seam between a consultation and its participants.

`ClientGroup` asks `MEMBER_KINDS[kind](spec)` for each member, `kind` chosen per role (default
`aiortc`: `bench.participant.Participant`). Another kind of client (a headless browser) registers a
factory under its own name and satisfies `Member`; kinds are names so a worker process's JSON config can
carry them (`--workers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.measure import VideoProbe
from bench.participant import MediaPlan, Participant
from bench.shaped_peer import shaped_factory
from bench.shaper_process import ShaperControl

DEFAULT_KIND = "aiortc"


class Member(Protocol):
    """What a consultation needs of a participant, whatever the client behind it."""

    role: str
    video: dict[str, VideoProbe]
    """Producer id → probe of each received video stream (settling and the live timeline read them)."""

    async def start(self) -> None:
        """Connect, join, publish."""

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


def aiortc_member(spec: MemberSpec) -> Member:
    factory = shaped_factory(spec.shaper, spec.link) if spec.shaper is not None and spec.link is not None else None
    return Participant(spec.url, spec.room, spec.token, spec.role, spec.plans, factory)


MEMBER_KINDS: dict[str, Callable[[MemberSpec], Member]] = {DEFAULT_KIND: aiortc_member}
