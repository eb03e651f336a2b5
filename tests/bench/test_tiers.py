"""Time on each tier and switch times, from `quality` events in the protocol's shape."""

from __future__ import annotations

from typing import Any

import pytest

from bench.tiers import QualityLog, switches, tier_seconds

START, END = 1000.0, 1060.0
STREAMS = [{"producer_id": "pr-5", "kind": "video"}, {"producer_id": "pr-6", "kind": "audio"}]


def quality(t: float, producer: str, kind: str, tier: str, reason: str | None = "network") -> dict[str, Any]:
    """A recorded event: what `QualityLog` keeps of a `quality` message, with its arrival time."""
    sized = {"T0": (640, 360), "T1": (640, 360), "T2": (320, 180), "T3": (256, 144)}.get(tier) if kind == "video" else None
    return {"t": t, "producer_id": producer, "kind": kind, "tier": tier, "reason": reason,
            "width": sized[0] if sized else None, "height": sized[1] if sized else None, "estimate_kbps": 140}


def test_the_log_keeps_quality_messages_with_their_arrival_time_and_ignores_others() -> None:
    log = QualityLog()
    log({"type": "participant-joined", "room": "r", "participant": {}})
    log({"type": "quality", "room": "r", "producer_id": "pr-5", "kind": "video", "tier": "T2", "reason": "network",
         "width": 320, "height": 180, "estimate_kbps": 150})
    assert len(log.events) == 1
    event = log.events[0]
    assert event["tier"] == "T2" and event["width"] == 320 and event["estimate_kbps"] == 150
    assert event["t"] == pytest.approx(__import__("time").time(), abs=1)
    assert "room" not in event and "type" not in event


def test_streams_without_events_spend_the_window_on_the_original() -> None:
    assert tier_seconds(STREAMS, [], START, END) == {"video": {"T0": 60.0}, "audio": {"full": 60.0}}
    assert switches(STREAMS, [], START, END, [START + 20]) == []


def test_time_on_each_tier_follows_the_events_and_sums_to_the_window() -> None:
    events = [
        quality(START + 21.5, "pr-5", "video", "T2"),
        quality(START + 40.5, "pr-5", "video", "A"),
        quality(START + 40.6, "pr-6", "audio", "low"),
        quality(START + 55.0, "pr-5", "video", "T2"),
    ]
    seconds = tier_seconds(STREAMS, events, START, END)
    assert seconds["video"] == {"T0": 21.5, "T2": 24.0, "A": 14.5}
    assert seconds["audio"] == {"full": 40.6, "low": 19.4}
    assert sum(seconds["video"].values()) == pytest.approx(END - START)


def test_an_event_before_the_window_sets_the_tier_it_starts_on_and_events_after_it_are_ignored() -> None:
    events = [quality(START - 5, "pr-5", "video", "T3"), quality(END + 1, "pr-5", "video", "T0", None)]
    assert tier_seconds(STREAMS[:1], events, START, END) == {"video": {"T3": 60.0}}
    assert switches(STREAMS[:1], events, START, END, []) == []


def test_a_repeated_tier_is_no_switch() -> None:
    events = [quality(START + 10, "pr-5", "video", "T0", "pinned")]
    assert tier_seconds(STREAMS[:1], events, START, END) == {"video": {"T0": 60.0}}
    assert switches(STREAMS[:1], events, START, END, []) == []


def test_switches_say_when_and_how_long_after_the_receivers_link_changed() -> None:
    events = [
        quality(START + 21.5, "pr-5", "video", "T2"),
        quality(START + 40.5, "pr-5", "video", "A"),
        quality(START + 53.0, "pr-5", "video", "T2"),
        quality(START + 5.0, "pr-6", "audio", "low", "save_data"),
    ]
    found = switches(STREAMS, events, START, END, [START + 20, START + 40, START + 45])
    assert [(s["t"], s["kind"], s["from"], s["to"], s["seconds_after_link_change"]) for s in found] == [
        (5.0, "audio", "full", "low", None),  # before any link change
        (21.5, "video", "T0", "T2", 1.5),
        (40.5, "video", "T2", "A", 0.5),
        (53.0, "video", "A", "T2", 8.0),  # counted from the latest change (at 45 s), not the first
    ]
    assert found[0]["reason"] == "save_data" and found[1]["reason"] == "network"


def test_a_video_switch_reports_the_longest_freeze_of_that_stream_around_it() -> None:
    events = [quality(START + 20.2, "pr-5", "video", "T2"), quality(START + 40.0, "pr-5", "video", "T0", None),
              quality(START + 20.2, "pr-6", "audio", "low")]
    freezes = {"pr-5": [[START + 21.5, 1200], [START + 21.9, 300], [START + 30.0, 2000], [START + 39.1, 200], [START + 38.5, 900]]}
    found = switches(STREAMS, events, START, END, [START + 20], freezes)
    by_kind = {(s["kind"], s["t"]): s["freeze_ms"] for s in found}
    # 1.2 s freeze ending 1.3 s after the down-switch counts; the one at 30 s is no switch's;
    # before the up-switch, the 200 ms one ending 0.9 s before it counts, the 900 ms one ending 1.5 s before does not.
    assert by_kind == {("video", 20.2): 1200, ("video", 40.0): 200, ("audio", 20.2): None}


def test_time_after_the_server_removed_the_receiver_counts_as_removed_not_as_a_tier() -> None:
    events = [quality(START + 10, "pr-5", "video", "T3"), quality(START + 50, "pr-5", "video", "T2")]
    seconds = tier_seconds(STREAMS, events, START, END, removed_at=START + 30)
    assert seconds == {"video": {"T0": 10.0, "T3": 20.0, "removed": 30.0}, "audio": {"full": 30.0, "removed": 30.0}}
    assert tier_seconds(STREAMS, [], START, END, removed_at=START - 1) == {
        "video": {"removed": 60.0}, "audio": {"removed": 60.0}}
