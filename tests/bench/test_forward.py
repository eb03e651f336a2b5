"""`vaidya-bench forward` itself: its loss arithmetic and one short real run against both servers."""

import json
import subprocess
import sys

from bench.forward import StreamCount


def test_stream_count_extends_sequence_numbers_across_the_wrap():
    count = StreamCount()
    for seq in [65533, 65534, 65535, 0, 1, 3]:  # 2 is lost
        count.add(seq)
    assert count.received == 6
    assert count.highest - count.first + 1 == 7


def test_stream_count_ignores_late_packets_for_the_highest():
    count = StreamCount()
    for seq in [10, 12, 11, 13]:
        count.add(seq)
    assert (count.first, count.highest, count.received) == (10, 13, 4)


def test_a_short_forward_run_reports_cost_against_the_baseline(tmp_path):
    out = tmp_path / "forward.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "forward", "--publishers", "1", "--subscribers", "2",
         "--seconds", "2", "--warmup", "1", "--fps", "15", "--json", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["packet_hops"] > 100  # 2 subscribers × (video + audio) for 2 s
    assert report["loss_pct"] < 5
    assert report["cpu_us_per_packet_hop"] > 0
    assert report["baseline_cpu_us_per_packet_hop"] > report["cpu_us_per_packet_hop"]
    assert all(r["all_streams_flowing"] for r in report["runs"] + report["baseline_runs"])
