"""`vaidya-bench commits`: both write paths timed under both sync levels, over real SQLite files."""

from __future__ import annotations

import json

from bench.cli import main


def test_commits_times_prescriptions_and_consents_under_normal_and_full_and_cleans_up(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["commits", "--n", "3", "--runs", "2", "--dir", str(tmp_path), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["runs"] == 2 and report["commits_per_run"] == 3
    for path in ("prescription", "consent"):
        for level in ("normal_ms", "full_ms"):
            figure = report[path][level]
            assert 0 < figure["min"] <= figure["median"] <= figure["max"]
        assert report[path]["full_over_normal"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # the scratch databases are gone


def test_commits_refuses_a_zero_count(capsys):
    assert main(["commits", "--n", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().err
