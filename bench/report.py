"""Turns one measured window of a consults run into the report: aggregates, shaper check, table, plot.

Aggregation pools samples across streams (every received frame's latency counts once), except
per-stream rates (fps, receive bitrate), whose percentiles are taken over streams. Schema in
docs/bench.md.
"""

from __future__ import annotations

from typing import Any

from bench.measure import percentiles
from bench.shaper import conformance


def ratio_pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def media_metrics(summaries: list[dict[str, Any]], wall: float, rtp: list[dict[str, int]]) -> dict[str, Any]:
    """What the clinicians saw and heard in one window, from every participant's `summary()`.

    `rtp`: each participant's inbound RTP counters over the window (differences, not totals).
    """
    videos = [v for s in summaries for v in s["video"]]
    freeze_ms = sum(v["freeze_ms"] for v in videos)
    shown_ms = sum(v["shown_ms"] for v in videos)
    received = sum(r["packets_received"] for r in rtp)
    lost = sum(r["packets_lost"] for r in rtp)
    resolutions: dict[str, int] = {}
    for v in videos:
        for size, count in v["resolutions"].items():
            resolutions[size] = resolutions.get(size, 0) + count
    return {
        "joined": sum(1 for s in summaries if s["join_ms"] is not None),
        "join_ms": percentiles([s["join_ms"] for s in summaries if s["join_ms"] is not None]),
        "video_streams": len(videos),
        "g2g_ms": percentiles([ms for s in summaries for ms in s["g2g_samples"]]),
        "audio_ms": percentiles([ms for s in summaries for ms in s["audio_latency_ms"]]),
        "audio_marks_missing": sum(s["audio_marks_missing"] for s in summaries),
        "audio_marks_misread": sum(s["audio_marks_misread"] for s in summaries),
        "fps": percentiles([v["fps"] for v in videos]),
        "freezes": sum(v["freezes"] for v in videos),
        "freeze_ms": freeze_ms,
        "freeze_ratio": round(freeze_ms / shown_ms, 4) if shown_ms else None,
        "psnr_db": percentiles([db for s in summaries for db in s["psnr_samples"]]),
        "resolutions": resolutions,
        "frames_skipped": sum(v["frames_skipped"] for v in videos),
        "stamps_unreadable": sum(v["stamps_unreadable"] for v in videos),
        "loss_pct": ratio_pct(lost, lost + received),
        "received_pps": round(received / wall, 1) if wall else None,
        "receive_kbps": percentiles([r["bytes_received"] * 8 / wall / 1000 for r in rtp] if wall else []),
        "audio_concealed_ratio": concealed_ratio([a for s in summaries for a in s.get("chromium", {}).get("audio", [])]),
        "nacked_packets": sum(s["nacked_packets"] for s in summaries),
        "plis": sum(s["plis"] for s in summaries),
        "failures": [f"{s['room']}: {s['error']}" for s in summaries if s["error"]],
    }


def concealed_ratio(audio: list[dict[str, Any]]) -> float | None:
    """Chromium's concealedSamples ÷ totalSamplesReceived over inbound audio tracks' getStats (None
    before any sound, or when no browser took part: aiortc reports no concealment)."""
    total = sum(a.get("totalSamplesReceived", 0) for a in audio)
    return round(sum(a.get("concealedSamples", 0) for a in audio) / total, 4) if total else None


def shaper_report(shaper: Any, links: list[int], cpu_pct: float | None) -> dict[str, Any]:
    """Which shaper ran, what it measured each direction to be, and whether it delivered the profile."""
    stats = [shaper.stats(link) for link in links]
    problems: list[str] = []
    measured: dict[str, Any] = {}
    for direction in ("up", "down"):
        sides = [link[direction] for link in stats]
        for i, side in enumerate(sides):
            problems += [f"link {i + 1} {direction}: {p}" for p in conformance(side)]
        packets_in = sum(s["packets_in"] for s in sides)
        delays = [s["added_delay_ms"] for s in sides if s["added_delay_ms"]["count"]]
        measured[direction] = {
            "loss_pct": ratio_pct(sum(s["dropped_loss"] for s in sides), packets_in),
            "queue_drop_pct": ratio_pct(sum(s["dropped_queue"] for s in sides), packets_in),
            "added_delay_ms_p50": rounded(percentiles([d["p50"] for d in delays])["p50"]),
            "added_delay_ms_p95": rounded(max((d["p95"] for d in delays), default=None)),
            "delivered_kbps_p50": rounded(percentiles([s["delivered_kbps"] for s in sides])["p50"]),
            "peak_kbps_max": rounded(max((s["peak_kbps"] for s in sides if s["peak_kbps"] is not None), default=None)),
        }
    return {
        "name": shaper.name,
        "links": len(stats),
        "cpu_pct": cpu_pct,
        "measured": measured,
        "conforms": not problems,
        "problems": problems,
    }


def _spread(d: dict[str, Any], unit: str) -> str:
    if not d or d.get("p50") is None:
        return "n/a"
    return f"p50 {d['p50']:.0f}{unit}  p95 {d['p95']:.0f}{unit}  max {d['max']:.0f}{unit}"


def table(report: dict[str, Any]) -> str:
    """The end-of-run summary a person reads."""
    shaper = report["shaper"]
    lines = [
        f"{report['consults']} consults ({report['participants']} participants), profile {report['profile']}, "
        f"{report['seconds']} s measured; {report['media']}",
        f"  joined            {report['joined']}/{report['participants']} participants saw video",
        f"  join time         {_spread(report['join_ms'], ' ms')}",
        f"  glass-to-glass    {_spread(report['g2g_ms'], ' ms')}",
        f"  audio latency     {_spread(report['audio_ms'], ' ms')}",
        f"  fps               {_spread(report['fps'], '')}",
        f"  freezes           {report['freezes']} ({report['freeze_ms']} ms, ratio {report['freeze_ratio']})",
        f"  PSNR              {_spread(report['psnr_db'], ' dB')}",
        f"  resolutions       {report['resolutions']}",
        f"  RTP loss          {report['loss_pct']} %, NACKed {report['nacked_packets']} packets, {report['plis']} PLIs",
        *([f"  browser           {', '.join(report['browser'])} in Chromium (CPU {report.get('browser_cpu_pct')} % "
           f"of a core); audio concealed {report['audio_concealed_ratio']} of samples"] if report.get("browser") else []),
        f"  receive           {_spread(report['receive_kbps'], ' kbit/s')}",
        f"  server            CPU {report['server_cpu_pct']} % of a core, RSS {report['server_rss_mb']} MB, "
        f"{report['received_pps']} packets/s delivered, {report.get('server_forwarded_pps')} forwarded (server's count)",
        f"  generator         CPU {report['generator_cpu_pct']} % ({report['workers']} process(es)), "
        f"event-loop lag p95 {report['generator_loop_lag_ms_p95']} ms"
        + ("  SATURATED: its numbers are suspect" if report["generator_saturated"] else ""),
        f"  machine           CPU {report['machine']['busy_pct']} % of {report['machine']['cpus'] * 100} %, "
        f"{report['machine']['others_pct']} % of it other processes (load average {report['machine']['load_avg_1min']})"
        + ("  BUSY: timings suspect" if report["machine"]["others_pct"] > 50 else "")
        + ("  SATURATED: every process waited for a CPU" if report["machine"]["saturated"] else ""),
    ]
    if shaper["name"] != "none":
        lines.append(
            f"  shaper            {shaper['name']}, {shaper['links']} links, CPU {shaper['cpu_pct']} %, "
            + ("conforms to the profile" if shaper["conforms"] else f"DID NOT CONFORM ({len(shaper['problems'])} problems)")
        )
        for name in ("up", "down"):
            side = shaper["measured"][name]
            lines.append(
                f"    {name:4}            loss {side['loss_pct']} %, queue drops {side['queue_drop_pct']} %, "
                f"added delay p50 {side['added_delay_ms_p50']} ms, delivered p50 {side['delivered_kbps_p50']} kbit/s"
            )
        lines += [f"    problem         {problem}" for problem in shaper["problems"][:5]]
    lines += [f"  FAILURE           {failure}" for failure in report["failures"]]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: str) -> None:
    """Latency, fps and server CPU over the measured window, one second per point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    t = [point["t"] for point in timeline]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].plot(t, [p["g2g_ms_p50"] for p in timeline], label="p50")
    axes[0].plot(t, [p["g2g_ms_p95"] for p in timeline], label="p95")
    axes[0].set_ylabel("glass-to-glass (ms)")
    axes[0].legend(loc="upper right")
    axes[1].plot(t, [p["fps"] for p in timeline])
    axes[1].set_ylabel("fps per stream")
    axes[2].plot(t, [p["server_cpu_pct"] for p in timeline], label="server")
    axes[2].plot(t, [p["generator_cpu_pct"] for p in timeline], label="generator")
    axes[2].set_ylabel("CPU (% of a core)")
    axes[2].set_xlabel("seconds")
    axes[2].legend(loc="upper right")
    fig.suptitle(f"{report['consults']} consults, profile {report['profile']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
