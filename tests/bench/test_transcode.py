"""`vaidya-bench transcode`: a tiny real run reports every key and exact codec-call counts."""

from __future__ import annotations

import json
from pathlib import Path

from bench.cli import main


def test_a_short_run_reports_costs_and_exactly_one_decode_per_frame_and_one_encode_per_tier_frame(tmp_path: Path) -> None:
    out = tmp_path / "transcode.json"
    assert main(["transcode", "--publishers", "1", "--seconds", "1", "--warmup", "0.5", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("cpu_per_publisher_ms", "measured_cpu_per_publisher_ms", "transcoded_publishers_per_core", "cpu_ratio_10_to_1"):
        assert report[key] > 0
    assert "warning" in report  # None, or why the CPU figures understate the cost
    assert report["decodes_per_frame"] == 1.0
    assert report["encodes_per_tier_frame"] == {"T1": 1.0, "T2": 1.0}
    assert [p["subscribers_per_tier"] for p in report["phases"]] == [1, 10]
    for phase in report["phases"]:
        frames = phase["input_frames"]
        assert frames >= 10 and phase["decodes"] == frames
        for tier in ("T1", "T2"):  # T1 caps at 30 fps, T2 at 15: every 15 fps input frame is due on both
            assert phase["encodes"][tier] + phase["dropped_encodes"][tier] == frames
            assert phase["encodes"][tier] == phase["tier_frames"][tier]
        # every consumer got every packet of its tier, and the tiers were encoded once for all of them
        assert phase["delivered_packets"] == phase["subscribers_per_tier"] * sum(phase["tier_packets"].values())
        assert phase["cpu_ms_per_input_frame"] >= phase["measured_cpu_ms_per_input_frame"]
