"""Light clients (`--light`): real aiortc peers through a real server that publish the role's media and
count the RTP they receive; a few probe consultations keep full measurement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.cli import main


def _run(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "out.json"
    code = main([*args, "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report.get("failures")
    return dict(report)


def _light(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in report["streams"] if s.get("client") == "light"]


def test_light_clients_count_the_loss_of_a_lossy_link_from_real_rtp_in_worker_processes(tmp_path: Path) -> None:
    # 5 % loss on each shaped link: a stream crosses the sender's uplink and the receiver's downlink.
    report = _run(tmp_path, "consults", "--consults", "3", "--light", "--probes", "1", "--seconds", "4",
                  "--profile", "delay=10ms,loss=5%", "--workers", "2")
    assert report["light_consults"] == 2 and report["probe_consults"] == 1
    light = _light(report)
    assert len(light) == 4 and all(s["join_ms"] is not None for s in light)
    assert report["joined"] == report["participants"] == 6
    assert 4.0 <= report["loss_pct_by_client"]["light"] <= 16.0, report["loss_pct_by_client"]
    # Light members decode nothing: what they received adds no frames, latencies or PSNR.
    assert all(not s["video"] and not s["g2g_samples"] and not s["psnr_samples"] for s in light)


def test_over_a_clean_link_light_clients_receive_everything_and_probes_still_measure_the_picture(
    tmp_path: Path,
) -> None:
    report = _run(tmp_path, "consults", "--consults", "3", "--light", "--probes", "1", "--seconds", "4")
    assert report["loss_pct_by_client"] == {"light": 0.0, "probe": 0.0}
    # Everyone receives both streams of their peer, ~60 video + 50 audio packets/s at 360p 500 kbit/s.
    assert report["received_pps"] >= 6 * 80, report["received_pps"]
    # Picture metrics come from the probe's two received streams only.
    assert report["video_streams"] == 2
    assert report["fps"]["p50"] >= 12 and report["g2g_ms"]["count"] >= 2 * 12 * 3
    assert report["g2g_ms"]["p50"] < 400 and report["psnr_db"]["p50"] > 30  # tails: the machine is shared
    assert report["server_workers"] == 0 and report["worker_cpu_share_max"] is None


def test_capacity_with_light_clients_judges_the_probes_and_reports_light_counts(tmp_path: Path) -> None:
    args = ("capacity", "--light", "--probes", "1", "--step", "2", "--max-consults", "4", "--seconds", "2")
    report = _run(tmp_path, *args)
    if report["max_consults"] != 4 and all(r.startswith("freeze ratio") for r in report["steps"][-1]["broken"]):
        # One hiccup of the shared machine in a 2 s window breaks a step on the probe's freeze ratio: that
        # is noise, measured again once. Light members judged on pictures they never decode would not be.
        report = _run(tmp_path, *args)
    # Light members never decode a frame, yet their steps are sustainable: they joined by their RTP,
    # and the picture criteria were judged on the probe.
    assert report["max_consults"] == 4, report["steps"]
    assert report["light"] is True and report["light_consults"] == 3 and report["probe_consults"] == 1
    assert report["steps"][-1]["joined"] == report["steps"][-1]["participants"] == 8
    assert report["steps"][-1]["fps"]["count"] == 2
    assert report["server_workers"] == 0 and "limit" in report


def test_with_two_server_workers_the_busiest_workers_share_of_the_server_cpu_is_reported(tmp_path: Path) -> None:
    report = _run(tmp_path, "consults", "--consults", "2", "--light", "--probes", "1", "--seconds", "3",
                  "--server-workers", "2")
    assert report["server_workers"] == 2
    assert 0.0 < report["worker_cpu_share_max"] < 1.0, report["worker_cpu_share_max"]
    assert report["joined"] == 4 and report["loss_pct"] is not None


def test_probes_without_light_are_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["consults", "--probes", "3"]) == 2
    assert "--probes needs --light" in capsys.readouterr().err
    assert main(["capacity", "--light", "--probes", "0"]) == 2
    assert "--probes must be >= 1" in capsys.readouterr().err


def test_the_busiest_workers_share_counts_a_restarted_worker_from_zero_and_is_none_without_workers() -> None:
    from bench.consults import worker_cpu_share_max

    # pid 3 was started (a restart) during the window: all its CPU is the window's.
    assert worker_cpu_share_max({1: 1.0, 2: 1.0}, {1: 3.0, 2: 1.5, 3: 1.2}, 4.0) == 0.5
    assert worker_cpu_share_max({}, {}, 4.0) is None
    assert worker_cpu_share_max({1: 1.0}, {1: 2.0}, None) is None
