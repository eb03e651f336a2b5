"""The report's per-role view and its baseline, from a real recorded window plus `quality` events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench.report import by_role, role_lines, with_baseline

RECORDED = Path(__file__).parent / "data" / "window_doctor_lan_patient_2g.json"
"""`ClientGroup.close_window()` of one real consult, doctor on lan, patient on 2g, adaptation not yet built:
the patient, flooded by the doctor's 500 kbit/s, decoded nothing in the 4 s window (g2g samples trimmed)."""


@pytest.fixture
def window() -> dict[str, Any]:
    return json.loads(RECORDED.read_text())


def _patient(window: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in window["summaries"] if s["role"] == "patient")


def test_each_role_gets_the_metrics_of_the_streams_it_received(window: dict[str, Any]) -> None:
    roles = by_role(window["summaries"], window["rtp"], 4.0, window["link_changes"])
    assert set(roles) == {"patient", "doctor"}
    for key in ("fps", "freeze_ratio", "g2g_ms", "psnr_db", "resolutions", "audio_ms", "audio_marks_missing",
                "tier_seconds", "switches"):
        assert key in roles["patient"] and key in roles["doctor"]
    doctor, patient = roles["doctor"], roles["patient"]
    assert doctor["participants"] == patient["participants"] == 1
    # The doctor (lan) saw the patient's 2G-sized video; the patient saw none of the doctor's in the window.
    assert doctor["g2g_ms"]["count"] == 40 and doctor["resolutions"] == {"160x90": doctor["resolutions"]["160x90"]}
    assert patient["g2g_ms"]["count"] == 0 and patient["fps"]["p50"] == 0
    assert patient["loss_pct"] > 50 > doctor["loss_pct"], "the patient's RTP loss is its own, not pooled"
    assert doctor["tier_seconds"] == {"video": {"T0": 4.0}, "audio": {"full": 4.0}}
    assert patient["switches"] == []


def test_quality_events_become_the_receiving_roles_tier_seconds_and_switches(window: dict[str, Any]) -> None:
    patient = _patient(window)
    start, end = patient["window"]
    video, audio = (r["producer_id"] for r in patient["received"])
    patient["quality_events"] = [  # as `QualityLog` records the server's messages
        {"t": start + 1.0, "producer_id": video, "kind": "video", "tier": "T3", "reason": "network",
         "width": 256, "height": 144, "estimate_kbps": 120},
        {"t": start + 2.5, "producer_id": video, "kind": "video", "tier": "A", "reason": "network",
         "width": None, "height": None, "estimate_kbps": 60},
        {"t": start + 2.5, "producer_id": audio, "kind": "audio", "tier": "low", "reason": "network",
         "width": None, "height": None, "estimate_kbps": 60},
    ]
    changes = [{"role": "patient", "t": start + 0.4, "at_s": 0.4, "profile": "2g"},
               {"role": "doctor", "t": start + 2.4, "at_s": 2.4, "profile": "3g"}]
    roles = by_role(window["summaries"], window["rtp"], end - start, changes)
    assert roles["patient"]["tier_seconds"] == {"video": {"T0": 1.0, "T3": 1.5, "A": 1.5}, "audio": {"full": 2.5, "low": 1.5}}
    switches = roles["patient"]["switches"]
    assert [(s["t"], s["from"], s["to"], s["seconds_after_link_change"]) for s in switches] == [
        (1.0, "T0", "T3", 0.6), (2.5, "T3", "A", 2.1), (2.5, "full", "low", 2.1),
    ], "counted from the patient's own link change, not the doctor's"
    assert all(s["room"] == "bench-consult-0" for s in switches)
    assert roles["doctor"]["switches"] == []


def test_the_baseline_mirrors_by_role_and_leaves_the_raw_streams_out(window: dict[str, Any]) -> None:
    def report(adapt: str) -> dict[str, Any]:
        return {"command": "vaidya-bench consults", "adapt": adapt, "failures": [], "streams": window["summaries"],
                "by_role": by_role(window["summaries"], window["rtp"], 4.0, [])}

    adaptive, baseline = report("on"), report("off")
    combined = with_baseline(adaptive, copy.deepcopy(baseline))
    assert combined["adapt"] == "on" and combined["baseline"]["adapt"] == "off"
    assert set(combined["baseline"]["by_role"]) == set(combined["by_role"])
    for role in combined["by_role"]:
        assert set(combined["baseline"]["by_role"][role]) == set(combined["by_role"][role])
    assert "streams" not in combined["baseline"] and "streams" in combined
    rows = role_lines({**combined, "by_role": {r: {**d, "link": "2g"} for r, d in combined["by_role"].items()}})
    assert any("patient (2g) adapt on" in row for row in rows) and any("patient adapt off" in row for row in rows)


def test_a_switch_on_a_stream_that_froze_around_it_reports_that_freeze(window: dict[str, Any]) -> None:
    doctor = next(s for s in window["summaries"] if s["role"] == "doctor")
    [video] = doctor["video"]
    [[freeze_end, freeze_ms]] = video["freeze_times"]  # the one freeze this recorded stream had
    doctor["quality_events"] = [
        {"t": freeze_end - 0.5, "producer_id": video["producer_id"], "kind": "video", "tier": "T2",
         "reason": "network", "width": 320, "height": 180, "estimate_kbps": 300},
    ]
    roles = by_role(window["summaries"], window["rtp"], 4.0, [])
    [switch] = roles["doctor"]["switches"]
    assert switch["to"] == "T2" and switch["freeze_ms"] == freeze_ms > 0
    assert switch["seconds_after_link_change"] is None, "no schedule, no link change"


def test_a_recorded_adaptive_window_shows_the_patients_paused_video_and_low_audio_tier() -> None:
    """Recorded with the server's adaptation on: the 2G patient's video went to `A` (paused) and its
    audio to the shared low tier before the 12 s window opened (the events arrived during settling)."""
    window = json.loads((RECORDED.parent / "window_adaptive_doctor_lan_patient_2g.json").read_text())
    patient = _patient(window)
    assert {e["tier"] for e in patient["quality_events"]} == {"A", "low"}
    start, end = patient["window"]
    roles = by_role(window["summaries"], window["rtp"], end - start, [])
    seconds = roles["patient"]["tier_seconds"]
    assert seconds == {"video": {"A": pytest.approx(end - start, abs=0.01)},
                       "audio": {"low": pytest.approx(end - start, abs=0.01)}}
    assert roles["patient"]["switches"] == [], "both changes came before the window"
    assert roles["patient"]["g2g_ms"]["count"] == 0, "no video while paused"
    assert roles["patient"]["audio_ms"]["count"] >= 8, "but the voice got through"
    assert roles["doctor"]["tier_seconds"]["video"] == {"T0": pytest.approx(end - start, abs=0.01)}
