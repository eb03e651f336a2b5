"""`vaidya-bench soak`: the trend analysis on constructed series, and a short real soak against a real
`vaidya serve` process (churning aiortc consultations, portal visits through OTP and the demo doctor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.cli import main
from bench.soak_analysis import analyse, returned_to_baseline


def _timeline(rss: np.ndarray, tasks: np.ndarray, join: np.ndarray, step_s: float = 30.0) -> list[dict]:
    """Points as the soak records them, one per interval, with flat fds/threads/sockets/objects."""
    rng = np.random.default_rng(7)
    return [{"t": (i + 1) * step_s, "rss_mb": float(rss[i]), "tasks": float(tasks[i]), "fds": 60 + int(rng.integers(-3, 4)),
             "threads": 20, "udp_sockets": 60 + int(rng.integers(-4, 5)), "gc_objects": 300_000 + int(rng.integers(-20_000, 20_000)),
             "join_ms_p50": float(join[i]), "join_ms_p95": float(join[i]) * 1.5, "portal_ms_p50": None, "g2g_ms_p50": None}
            for i in range(len(rss))]


def test_a_flat_noisy_soak_passes_and_a_leaking_one_fails_on_each_thing_that_grows() -> None:
    rng = np.random.default_rng(1)
    n = 60  # 30 minutes of 30 s samples
    flat = _timeline(300 + rng.normal(0, 4, n), 200 + rng.normal(0, 6, n).round(), 900 + rng.normal(0, 150, n))
    verdict = analyse(flat)
    assert verdict["pass"], verdict["problems"]
    assert verdict["intervals_judged"] == 48  # the first 20 % (12 intervals) is warm-up
    assert abs(verdict["rss"]["growth_pct"]) < 5 and not verdict["counts"]["tasks"]["growing"]

    ramp = np.arange(n)
    leaking = _timeline(300 + 0.8 * ramp + rng.normal(0, 4, n),  # 1.6 MB a minute: ~12 % after warm-up
                        200 + 0.5 * ramp + rng.normal(0, 6, n).round(),  # two tasks lost every minute
                        900 + 15 * ramp + rng.normal(0, 150, n))  # joins twice as slow by the end
    verdict = analyse(leaking)
    assert not verdict["pass"]
    assert not verdict["rss"]["ok"] and verdict["rss"]["fitted_growth_pct"] > 5
    assert verdict["counts"]["tasks"]["growing"] and not verdict["counts"]["fds"]["growing"]
    assert verdict["latency"]["join_ms"]["drifting"]
    assert len(verdict["problems"]) == 3


def test_a_warm_up_rise_that_then_holds_is_not_a_leak() -> None:
    rng = np.random.default_rng(3)
    n = 60
    rss = np.concatenate([np.linspace(150, 300, 10), np.full(n - 10, 300.0)]) + rng.normal(0, 3, n)
    verdict = analyse(_timeline(rss, np.full(n, 200.0), np.full(n, 800.0)))
    assert verdict["pass"], verdict["problems"]
    # Judged from the start it would have grown far beyond the limit.
    assert not analyse(_timeline(rss, np.full(n, 200.0), np.full(n, 800.0)), warm_up_share=0.0)["rss"]["ok"]


def test_a_count_that_dips_with_the_participants_during_a_stall_is_not_growing() -> None:
    n = 60
    participants = np.full(n, 26.0)
    participants[12:20] = 16  # a stall at the start of the judged span dropped 10 clients for 4 minutes
    tasks = 4 + 19 * participants  # tasks follow the participants exactly, nothing is left behind
    points = _timeline(np.full(n, 240.0), tasks, np.full(n, 600.0))
    for point, count in zip(points, participants):
        point["participants"] = float(count)
    verdict = analyse(points)
    assert not verdict["counts"]["tasks"]["growing"] and verdict["counts"]["tasks"]["load_adjusted"]
    # Without the participants the early dip reads as a rise.
    assert analyse(_timeline(np.full(n, 240.0), tasks, np.full(n, 600.0)))["counts"]["tasks"]["growing"]
    # A count that grows beyond what the participants explain still is.
    for i, point in enumerate(points):
        point["tasks"] += 0.5 * i
    assert analyse(points)["counts"]["tasks"]["growing"]


def test_counts_left_over_once_everyone_has_left_are_named() -> None:
    before = {"tasks": 4, "fds": 18, "threads": 7, "udp_sockets": 0}
    assert returned_to_baseline(before, {"tasks": 5, "fds": 19, "threads": 12, "udp_sockets": 0})["ok"]
    left = returned_to_baseline(before, {"tasks": 40, "fds": 18, "threads": 7, "udp_sockets": 12})
    assert not left["ok"] and left["left_over"] == ["tasks", "udp_sockets"]


def test_a_short_soak_churns_consultations_and_portal_visits_and_the_server_lets_go_of_them(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    code = main(["soak", "--minutes", "0.5", "--consults", "3", "--consult-seconds", "8", "--sample-s", "4",
                 "--portal-rps", "2", "--json", str(out)])
    report = json.loads(out.read_text())
    timeline = report["timeline"]
    assert len(timeline) >= 5
    rss = [p["rss_mb"] for p in timeline]
    assert min(rss) > 20 and len(set(rss)) > 1  # read from the server's processes, and it moves
    assert all(p["tasks"] > 0 and p["gc_objects"] > 10_000 and p["fds"] > 0 for p in timeline)
    assert max(p["udp_sockets"] for p in timeline) >= 6  # ICE sockets of the 6 members in progress
    assert max(p["participants"] for p in timeline) >= 4
    # Consultations came and went: every 8 s each of the 3 is replaced.
    assert report["replaced"] >= 5 and report["joins"] >= 12 and report["join_failures"] == 0
    # Each join is counted in the interval it completed in, none twice.
    assert report["joins"] - 6 <= sum(p["joins"] for p in timeline) <= report["joins"]
    portal = report["portal"]
    assert portal["visits"] >= 2 and portal["errors"] == 0 and portal["ok"] == portal["requests"] >= 25
    assert portal["latency_ms"]["p50"] > 0
    # Once every client has left, the server holds no more tasks, descriptors or sockets than before.
    leak = report["leak_check"]
    assert leak["ok"], leak
    assert report["after_leaving"]["udp_sockets"] == report["baseline"]["udp_sockets"]
    assert max(p["tasks"] for p in timeline) > report["after_leaving"]["tasks"] + 20
    assert code == (0 if report["pass"] else 1)


def test_soak_arguments_are_checked_before_anything_starts(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["soak", "--portal-rps", "9"]) == 2
    assert "--portal-rps must be between 0 and 4" in capsys.readouterr().err
    assert main(["soak", "--minutes", "1", "--sample-s", "30"]) == 2
    assert "at least 5 samples" in capsys.readouterr().err
