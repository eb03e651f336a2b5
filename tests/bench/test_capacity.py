"""`vaidya-bench capacity`: the break criteria on known windows, and a short real ramp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.capacity import broken
from bench.cli import main


def _window(**changes: Any) -> dict[str, Any]:
    window = {"g2g_ms": {"p95": 150.0}, "loss_pct": 0.2, "freeze_ratio": 0.0, "joined": 4, "participants": 4}
    return {**window, **changes}


def test_a_window_within_every_limit_is_sustainable() -> None:
    assert broken(_window()) == []


def test_latency_loss_freezes_or_a_participant_without_video_each_break_quality() -> None:
    assert "glass-to-glass 450 ms" in broken(_window(g2g_ms={"p95": 450.0}))[0]
    assert broken(_window(g2g_ms={"p95": None})), "no latency measured at all is not sustainable"
    assert "loss 1.5 %" in broken(_window(loss_pct=1.5))[0]
    assert "freeze ratio 0.05" in broken(_window(freeze_ratio=0.05))[0]
    assert "only 3 of 4" in broken(_window(joined=3))[0]


def test_a_short_ramp_reports_max_consults(tmp_path: Path) -> None:
    out = tmp_path / "cap.json"
    assert main(["capacity", "--step", "1", "--max-consults", "2", "--seconds", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [s["consults"] for s in report["steps"]] == [1, 2] or report["steps"][-1]["broken"]
    assert report["max_consults"] == max([s["consults"] for s in report["steps"] if not s["broken"]], default=0)
    assert report["profile"] == "lan" and "limit" in report


def test_a_limit_found_on_a_busy_or_saturated_machine_names_what_else_was_short() -> None:
    from bench.capacity import _suspects

    quiet = {"generator_saturated": False, "generator_cpu_pct": 40.0, "server_cpu_pct": 20.0,
             "machine": {"others_pct": 10.0, "saturated": False, "busy_pct": 70.0}}
    assert _suspects(quiet) == ""
    busy = {**quiet, "machine": {**quiet["machine"], "others_pct": 120.0}}
    assert "other processes used 120.0 % CPU" in _suspects(busy)
    full = {**quiet, "generator_saturated": True, "machine": {**quiet["machine"], "saturated": True, "busy_pct": 195.0}}
    assert "generator could not keep up" in _suspects(full) and "saturated (195.0 % busy" in _suspects(full)
