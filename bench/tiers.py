"""What the server chose to send each subscriber, from its `quality` events: time on each tier, and
when it switched relative to the link changes that caused it.

Protocol (docs/protocol.md, "Adaptation events"): every received stream starts at the original (`T0`
for video, `full` for audio) without a message; each `quality` message `{type: "quality", room,
producer_id, kind, tier, reason, width, height, estimate_kbps}` says that one stream changed. A
participant records each with its arrival time (`QualityLog`); these pure functions turn the records of
one measured window into the report's `tier_seconds` and `switches`.
"""

from __future__ import annotations

import time
from typing import Any

INITIAL_TIER = {"video": "T0", "audio": "full"}
"""What every received stream starts at, without a message."""
SWITCH_FREEZE_BEFORE_S = 1.0
SWITCH_FREEZE_AFTER_S = 2.0
"""A freeze counts as at a switch when its gap overlaps this span around the `quality` event: the event
and the first frame of the new tier need not arrive together (a keyframe, a round trip)."""
EVENT_FIELDS = ("producer_id", "kind", "tier", "reason", "width", "height", "estimate_kbps")


class QualityLog:
    """The `quality` events one participant received, each stamped with its arrival (time.time())."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        """A `SignalingClient` listener: keep `quality` messages, ignore the rest."""
        if message.get("type") == "quality":
            self.events.append({"t": time.time(), **{key: message.get(key) for key in EVENT_FIELDS}})


def _timeline(
    producer: str, kind: str, events: list[dict[str, Any]], start: float, end: float
) -> list[tuple[float, float, str, dict[str, Any] | None]]:
    """One stream's tiers over [start, end]: (from, to, tier, the event that set it or None)."""
    mine = sorted((e for e in events if e["producer_id"] == producer), key=lambda e: e["t"])
    tier, cause, since = INITIAL_TIER.get(kind, "T0"), None, start
    spans: list[tuple[float, float, str, dict[str, Any] | None]] = []
    for event in mine:
        if event["t"] <= start:
            tier, cause = event["tier"], event
            continue
        if event["t"] >= end:
            break
        if event["tier"] != tier:
            spans.append((since, event["t"], tier, cause))
            tier, cause, since = event["tier"], event, event["t"]
    spans.append((since, end, tier, cause))
    return spans


REMOVED = "removed"
"""The pseudo-tier of the time after the server removed the receiver from its room."""


def tier_seconds(
    streams: list[dict[str, Any]], events: list[dict[str, Any]], start: float, end: float,
    removed_at: float | None = None,
) -> dict[str, dict[str, float]]:
    """Seconds each kind of received stream spent on each tier in the window, summed over `streams`
    (each `{producer_id, kind}`), e.g. `{"video": {"T0": 12.0, "T2": 8.0}, "audio": {"full": 20.0}}`.
    After `removed_at` (the server dropped the receiver) the time counts as `removed`, not as a tier."""
    totals: dict[str, dict[str, float]] = {}
    cut = end if removed_at is None else max(start, min(end, removed_at))
    for stream in streams:
        per_kind = totals.setdefault(stream["kind"], {})
        for since, until, tier, _ in _timeline(stream["producer_id"], stream["kind"], events, start, cut):
            if until > since:
                per_kind[tier] = round(per_kind.get(tier, 0.0) + until - since, 2)
        if cut < end:
            per_kind[REMOVED] = round(per_kind.get(REMOVED, 0.0) + end - cut, 2)
    return totals


def _longest_freeze(freezes: list[list[float]], at: float) -> int:
    """The longest freeze (`[end time, ms]` pairs) whose gap overlaps `at` − 1 s … `at` + 2 s."""
    low, high = at - SWITCH_FREEZE_BEFORE_S, at + SWITCH_FREEZE_AFTER_S
    return max((int(ms) for end, ms in freezes if end >= low and end - ms / 1000 <= high), default=0)


def switches(
    streams: list[dict[str, Any]],
    events: list[dict[str, Any]],
    start: float,
    end: float,
    link_changes: list[float],
    freezes: dict[str, list[list[float]]] | None = None,
) -> list[dict[str, Any]]:
    """Every tier change inside the window: `t` (seconds into the window), `from`, `to`, `reason`,
    `seconds_after_link_change` (since the latest of `link_changes` before it — times the receiver's own
    link changed — or None when its link had not changed yet), and for video `freeze_ms`: the longest
    freeze of that stream around the switch (`freezes`: producer id → `[end time, ms]`, as
    `VideoProbe.summary()["freeze_times"]`; 0 when none)."""
    found: list[dict[str, Any]] = []
    for stream in streams:
        spans = _timeline(stream["producer_id"], stream["kind"], events, start, end)
        stream_freezes = (freezes or {}).get(stream["producer_id"], [])
        for before, after in zip(spans, spans[1:]):
            at = after[0]
            changes = [c for c in link_changes if c <= at]
            found.append({
                "t": round(at - start, 2),
                "producer_id": stream["producer_id"],
                "kind": stream["kind"],
                "from": before[2],
                "to": after[2],
                "reason": after[3]["reason"] if after[3] else None,
                "seconds_after_link_change": round(at - max(changes), 2) if changes else None,
                "freeze_ms": _longest_freeze(stream_freezes, at) if stream["kind"] == "video" else None,
            })
    return sorted(found, key=lambda s: s["t"])
