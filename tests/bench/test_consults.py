"""`vaidya-bench consults` end to end: a real server process, real aiortc clients, a shaped link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main

REQUIRED = ["consults", "profile", "shaper", "join_ms", "g2g_ms", "fps", "freeze_ratio", "psnr_db", "loss_pct",
            "server_cpu_pct", "server_rss_mb"]


def test_a_consult_over_a_shaped_link_reports_the_added_delay_and_what_the_shaper_measured(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code = main(["consults", "--consults", "1", "--seconds", "4", "--profile", "rate=1M,delay=100ms",
                 "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    assert all(key in report for key in REQUIRED)
    assert report["joined"] == 2 and report["consults"] == 1
    # Each media path crosses two shaped links (sender's uplink, receiver's downlink): 2 × 100 ms added,
    # plus sending, the SFU and aiortc's one-frame jitter buffer.
    assert 200 <= report["g2g_ms"]["p50"] <= 200 + 200, report["g2g_ms"]
    assert report["audio_ms"]["count"] >= 2 and report["audio_ms"]["p50"] >= 200
    assert report["fps"]["p50"] >= 12 and report["stamps_unreadable"] == 0
    assert report["psnr_db"]["p50"] > 30
    assert report["resolutions"] == {"320x180": report["resolutions"]["320x180"]}
    shaper = report["shaper"]
    assert shaper["name"] == "python-udp-relay" and shaper["links"] == 2
    assert 99 <= shaper["measured"]["up"]["added_delay_ms_p50"] <= 130
    assert report["server_cpu_pct"] is not None and report["server_rss_mb"] > 10
    # The server's own count (its /metrics) agrees with what the clients received, within the link's loss.
    assert report["server_forwarded_pps"] > 0
    assert 0.8 * report["server_forwarded_pps"] <= report["received_pps"] <= 1.1 * report["server_forwarded_pps"]


def test_an_unknown_profile_is_refused_before_anything_starts(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["consults", "--profile", "6g"]) == 2
    assert "unknown profile '6g'" in capsys.readouterr().err


def test_a_hub_specialist_makes_three_participants_who_each_see_two_videos(tmp_path: Path) -> None:
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    code = main(["consults", "--consults", "1", "--seconds", "3", "--third-party", "--json", str(out),
                 "--plot", str(png)])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    assert report["participants"] == 3 and report["joined"] == 3
    assert report["video_streams"] == 6
    assert all(len(s["video"]) == 2 and all(v["frames"] > 20 for v in s["video"]) for s in report["streams"])
    assert report["shaper"]["name"] == "none"
    assert len(report["timeline"]) >= 3 and png.read_bytes()[:4] == b"\x89PNG"


def test_clients_spread_over_worker_processes_share_one_shaper_and_report_together(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code = main(["consults", "--consults", "2", "--seconds", "3", "--workers", "2", "--profile", "delay=20ms",
                 "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    assert report["workers"] == 2 and len(report["generator_cpu_pct_per_process"]) == 3  # coordinator + 2
    assert report["participants"] == 4 and report["joined"] == 4
    assert report["shaper"]["links"] == 4
    # On a shared machine the relay may wake late; any other departure from the profile is a bug.
    assert all("falling behind" in problem for problem in report["shaper"]["problems"]), report["shaper"]["problems"]
    assert 20 <= report["shaper"]["measured"]["up"]["added_delay_ms_p50"] <= 40
    assert report["g2g_ms"]["p50"] >= 40


async def test_a_running_server_can_be_targeted_with_its_url_and_secret(tmp_path: Path) -> None:
    import asyncio
    import secrets

    from bench.forward import ServerUnderTest

    secret = secrets.token_urlsafe(32)
    server = ServerUnderTest("vaidya", secret)
    try:
        await server.ready()
        out = tmp_path / "out.json"
        argv = ["consults", "--consults", "1", "--seconds", "2", "--url", server.ws_url, f"--secret={secret}",
                "--json", str(out)]
        code = await asyncio.get_running_loop().run_in_executor(None, main, argv)
    finally:
        server.stop()
    report = json.loads(out.read_text())
    assert code == 0 and report["joined"] == 2
    assert report["server_cpu_pct"] is None, "a server we did not start is not ours to measure"


def test_a_url_without_the_servers_secret_is_refused(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("VAIDYA_SECRET", raising=False)
    assert main(["consults", "--url", "ws://127.0.0.1:9/ws"]) == 2
    assert "needs the server's token secret" in capsys.readouterr().err


async def test_the_generators_event_loop_lag_is_measured_and_a_blocked_loop_shows() -> None:
    import asyncio
    import time

    from bench.clients import LoopLag

    lag = LoopLag(interval=0.01)
    await asyncio.sleep(0.1)
    time.sleep(0.08)  # block the loop, as a generator that cannot keep up would
    await asyncio.sleep(0.05)
    lag.close()
    assert min(lag.samples) < 5 and max(lag.samples) >= 60


ROLE_KEYS = ["fps", "freeze_ratio", "g2g_ms", "psnr_db", "resolutions", "audio_ms", "audio_marks_missing",
             "tier_seconds", "switches"]


def _consults(tmp_path: Path, *argv: str) -> dict:
    """Run `vaidya-bench consults ARGV` to completion; its JSON report (the run must have succeeded)."""
    out = tmp_path / "out.json"
    code = main(["consults", *argv, "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    return report


def test_mixed_links_with_adaptation_both_report_each_role_beside_its_forwarding_only_baseline(tmp_path: Path) -> None:
    report = _consults(tmp_path, "--consults", "1", "--seconds", "5", "--profile", "doctor=lan,patient=3g",
                       "--adapt", "both")
    assert report["adapt"] == "on" and report["baseline"]["adapt"] == "off"
    assert report["profile"] == "patient=3g,doctor=lan" and report["link"] is None
    for run in (report, report["baseline"]):
        assert set(run["by_role"]) == {"patient", "doctor"}
        assert run["joined"] == 2, run["failures"]
        for role, data in run["by_role"].items():
            assert all(key in data for key in ROLE_KEYS), (role, data.keys())
            assert data["fps"]["p50"] >= 10 and 0 <= data["freeze_ratio"] < 0.5
            assert data["g2g_ms"]["count"] > 20 and data["psnr_db"]["p50"] > 30
            # Both send 640x360 (3g carries it; lan does): each receives the other's full size.
            assert list(data["resolutions"]) == ["640x360"]
            assert data["audio_ms"]["count"] >= 2 and data["audio_marks_missing"] <= 1
            video = data["tier_seconds"]["video"]
            assert 4.5 <= sum(video.values()) <= 6.5 and sum(data["tier_seconds"]["audio"].values()) == pytest.approx(
                sum(video.values()), abs=0.1)
        # Only the patient's link crosses the shaper: one link, the patient's, and its 3G delay.
        assert run["by_role"]["patient"]["link"] == "3g" and run["by_role"]["doctor"]["link"] == "lan"
        assert run["shaper"]["links"] == 1
        assert 99 <= run["shaper"]["measured"]["up"]["added_delay_ms_p50"] <= 130
        # One shaped link in each media path now (the patient's): about 100 ms, not 200, plus the rest.
        assert 100 <= run["g2g_ms"]["p50"] <= 350
    assert "streams" in report and "streams" not in report["baseline"]
    point = report["timeline"][-1]["by_role"]
    assert set(point) == {"patient", "doctor"} and all(p["fps"] > 5 for p in point.values())


def test_a_schedule_reshapes_the_patients_links_during_the_window_from_each_worker(tmp_path: Path) -> None:
    png = tmp_path / "out.png"
    report = _consults(tmp_path, "--consults", "2", "--workers", "2", "--seconds", "4", "--profile", "doctor=lan",
                       "--schedule", "0:rate=1M,delay=100ms,2:rate=1M,delay=20ms", "--plot", str(png))
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert report["schedule"] == {"patient": "0:rate=1M,delay=100ms,2:rate=1M,delay=20ms"}
    assert report["shaper"]["links"] == 2, "one link per patient, none for the doctors on lan"
    changes = report["link_changes"]
    assert len(changes) == 2, "each worker reshapes its own patient's link"
    for change in changes:
        assert change["role"] == "patient" and change["at_s"] == 2 and change["links"] == 1
        assert 1.9 <= change["t"] <= 2.6
    down = report["shaper"]["measured"]["down"]
    # The link's two profiles are judged apart: 100 ms before the step, 20 ms after (p50 over both segments).
    assert 20 <= down["added_delay_ms_p50"] <= 100
    assert all("falling behind" in problem for problem in report["shaper"]["problems"]), report["shaper"]["problems"]
    assert report["by_role"]["patient"]["switches"] == []  # the 1 Mbit/s link never needed another tier


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "hub=4g"], "hub=… needs --third-party"),
        (["--profile", "patient=2g,nurse=lan"], "unknown role or spec key 'nurse'"),
        (["--seconds", "5", "--schedule", "0:3g,10:2g"], "not inside the measured window (--seconds 5)"),
        (["--schedule", "0:3g,x"], "'x' is not a step"),
        (["--adapt", "both", "--url", "ws://127.0.0.1:9/ws", "--secret", "s" * 32], "--adapt needs a server this run starts"),
        (["--fec", "off", "--url", "ws://127.0.0.1:9/ws", "--secret", "s" * 32], "--fec needs a server this run starts"),
    ],
)
def test_bad_role_profiles_schedules_and_adapt_are_refused_before_anything_starts(argv, message, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["consults", *argv]) == 2
    assert message in capsys.readouterr().err
