"""`vaidya-bench relay` and `failover`: tiny real runs (server processes, a real redis-server) report
what docs/bench.md says they do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.redis_server import REDIS_SERVER


@pytest.mark.timeout(120)
def test_relay_measures_both_modes_and_what_the_workers_add(tmp_path: Path) -> None:
    out = tmp_path / "relay.json"
    assert main(["relay", "--workers", "1", "--joins", "3", "--messages", "30", "--runs", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for mode in ("baseline", "relayed"):
        assert report[mode]["join_ms"]["median"] > 0 and report[mode]["message_us"]["median"] > 0
        assert report[mode]["join_ms"]["min"] <= report[mode]["join_ms"]["median"] <= report[mode]["join_ms"]["max"]
    assert report["added_message_us"] == pytest.approx(
        report["relayed"]["message_us"]["median"] - report["baseline"]["message_us"]["median"], abs=0.02)


@pytest.mark.timeout(180)
@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_failover_kills_the_owning_node_and_the_consultation_comes_back(tmp_path: Path) -> None:
    out = tmp_path / "failover.json"
    assert main(["failover", "--trials", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    [trial] = report["runs"]
    assert report["lost_consults"] == 0 and trial["killed"] == "node-0"
    # the dead node's heartbeat must expire (3 s) before its room is taken over: never instant, never lost
    assert 1.0 < trial["resume_s"] < 30 and report["resume_s"]["p50"] == trial["resume_s"]
    assert report["redis"]["heartbeat_ops_per_node_minute"] > 0 and report["redis"]["ops_per_consultation"] > 0
