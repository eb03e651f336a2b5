"""`vaidya-bench hop-floor`: a bare Python hop (rewrite, SRTP, sendto) timed part by part."""

from __future__ import annotations

import json
from pathlib import Path

from bench.cli import main


def test_every_timed_hop_reaches_the_receiver_and_a_whole_hop_costs_more_than_its_send(tmp_path: Path) -> None:
    out = tmp_path / "floor.json"
    assert main(["hop-floor", "--hops", "2048", "--repeat", "3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    # the receiver's reads are left out of the time, not the datagrams: each one sent arrived
    assert report["datagrams_sent"] == report["datagrams_received"] == 2 * 2048 * 3
    us = report["us_per_hop"]
    assert all(len(report["runs_us_per_hop"][part]) == 3 for part in us)
    assert 0 < us["sendto"]["median"] < us["hop"]["median"]
    assert 0 < us["rewrite_protect"]["median"] < us["hop"]["median"]
    assert report["hops_per_core_s"] == round(1e6 / us["hop"]["median"])


def test_too_few_hops_are_refused_with_what_is_wrong(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["hop-floor", "--hops", "10"]) == 2
    assert "--hops must be >= 64" in capsys.readouterr().err
