"""Turns one measured window of a consults run into the report: aggregates, shaper check, table, plot.

Aggregation pools samples across streams (every received frame's latency counts once), except
per-stream rates (fps, receive bitrate), whose percentiles are taken over streams. Schema in
docs/bench.md.
"""

from __future__ import annotations

import json
import statistics

from typing import Any

from bench.measure import percentiles
from bench.shaper import conformance, segments
from bench.tiers import switches, tier_seconds


def save_json(report: dict[str, Any], path: str | None) -> str:
    """The report as indented JSON, written to `path` too when one is given (every command's `--json`)."""
    text = json.dumps(report, indent=2)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    return text


def spread(values: list[float], digits: int = 2) -> dict[str, float]:
    """Median with min and max: the form every timing figure takes on a shared machine."""
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


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
        "loss_pct": loss_pct(rtp),
        "received_pps": round(received / wall, 1) if wall else None,
        "receive_kbps": percentiles([r["bytes_received"] * 8 / wall / 1000 for r in rtp] if wall else []),
        "audio_concealed_ratio": concealed_ratio([a for s in summaries for a in s.get("chromium", {}).get("audio", [])]),
        "nacked_packets": sum(s["nacked_packets"] for s in summaries),
        "plis": sum(s["plis"] for s in summaries),
        "failures": [f"{s['room']}: {s['error']}" for s in summaries if s["error"]],
    }


def loss_pct(rtp: list[dict[str, int]]) -> float | None:
    """RTP packets lost (before repair) as a share of those expected, over these participants' counters."""
    lost = sum(r["packets_lost"] for r in rtp)
    return ratio_pct(lost, lost + sum(r["packets_received"] for r in rtp))


def concealed_ratio(audio: list[dict[str, Any]]) -> float | None:
    """Chromium's concealedSamples ÷ totalSamplesReceived over inbound audio tracks' getStats (None
    before any sound, or when no browser took part: aiortc reports no concealment)."""
    total = sum(a.get("totalSamplesReceived", 0) for a in audio)
    return round(sum(a.get("concealedSamples", 0) for a in audio) / total, 4) if total else None


def chromium_summary(summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Chromium's own getStats over the window, summed over the browser members' inbound video tracks
    (None when no member is a browser): freezes as Chromium counts them, frames decoded, the frame widths
    it last decoded, its mean jitter-buffer delay, and the NACKs and PLIs it sent."""
    video = [v for s in summaries for v in (s.get("chromium") or {}).get("video", [])]
    if not any(s.get("chromium") for s in summaries):
        return None
    emitted = sum(v.get("jitterBufferEmittedCount", 0) for v in video)
    return {
        "tracks": len(video),
        "freezeCount": sum(v.get("freezeCount", 0) for v in video),
        "totalFreezesDuration": round(sum(v.get("totalFreezesDuration", 0.0) for v in video), 3),
        "framesDecoded": sum(v.get("framesDecoded", 0) for v in video),
        "frameWidth": sorted({v["frameWidth"] for v in video if v.get("frameWidth")}),
        "jitter_buffer_ms": (round(1000 * sum(v.get("jitterBufferDelay", 0.0) for v in video) / emitted, 1)
                             if emitted else None),
        "nackCount": sum(v.get("nackCount", 0) for v in video),
        "pliCount": sum(v.get("pliCount", 0) for v in video),
    }


ROLE_OMITS = ("failures", "joined")
"""media_metrics keys not repeated per role (failures are listed once, joined is counted per role)."""


def by_role(
    summaries: list[dict[str, Any]], rtp: list[dict[str, int]], wall: float, link_changes: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per role, what its participants received: `media_metrics` over their streams, plus `tier_seconds`
    and `switches` from the server's `quality` events (`bench.tiers`).

    `link_changes`: the schedule steps applied in the window (`{role, t}`, t as time.time()); a switch's
    `seconds_after_link_change` counts from the latest change of the receiving role's own link.
    """
    grouped: dict[str, list[int]] = {}
    for i, summary in enumerate(summaries):
        grouped.setdefault(summary["role"], []).append(i)
    report: dict[str, dict[str, Any]] = {}
    for role, members in grouped.items():
        mine = [summaries[i] for i in members]
        metrics = media_metrics(mine, wall, [rtp[i] for i in members])
        changes = [c["t"] for c in link_changes if c["role"] == role]
        seconds: dict[str, dict[str, float]] = {}
        found: list[dict[str, Any]] = []
        for s in mine:
            start, end = s["window"]
            removed_at = s["removed"]["t"] if s.get("removed") else None
            for kind, tiers in tier_seconds(s["received"], s["quality_events"], start, end, removed_at).items():
                for tier, value in tiers.items():
                    seconds.setdefault(kind, {})[tier] = round(seconds.get(kind, {}).get(tier, 0.0) + value, 2)
            freezes = {v["producer_id"]: v["freeze_times"] for v in s["video"] if "producer_id" in v}
            found += [{"room": s["room"], **switch}
                      for switch in switches(s["received"], s["quality_events"], start, end, changes, freezes)]
        report[role] = {
            "participants": len(mine),
            "joined": metrics["joined"],
            **{key: value for key, value in metrics.items() if key not in ROLE_OMITS},
            "tier_seconds": seconds,
            "switches": sorted(found, key=lambda s: s["t"]),
            **({"chromium": chromium} if (chromium := chromium_summary(mine)) is not None else {}),
        }
    return report


def with_baseline(report: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The adaptive run's report with the forwarding-only run of the same load beside it, under
    `baseline` (everything but the raw per-participant `streams`): `baseline.by_role` mirrors `by_role`."""
    return {**report, "baseline": {key: value for key, value in baseline.items() if key not in ("command", "streams")}}


def shaper_report(shaper: Any, links: list[int], cpu_pct: float | None) -> dict[str, Any]:
    """Which shaper ran, what it measured each direction to be, and whether it delivered the profile."""
    stats = [shaper.stats(link) for link in links]
    problems: list[str] = []
    measured: dict[str, Any] = {}
    for direction in ("up", "down"):
        sides = []
        for i, link in enumerate(stats):
            for side in segments(link[direction]):
                sides.append(side)
                problems += [f"link {i + 1} {direction} ({side['profile']['name']}): {p}" for p in conformance(side)]
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
        *([f"  light clients     {report['light_consults']} consults light (RTP counted, nothing decoded), "
           f"{report['probe_consults']} probes measured in full; loss light {report['loss_pct_by_client'].get('light')} %, "
           f"probes {report['loss_pct_by_client'].get('probe')} %"] if report.get("light_consults") else []),
        *([f"  server workers    {report['server_workers']}; the busiest took "
           f"{report['worker_cpu_share_max']} of the server's CPU"] if report.get("server_workers") else []),
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
    lines += role_lines(report)
    lines += [f"  FAILURE           {failure}" for failure in report["failures"]]
    baseline = report.get("baseline")
    if baseline:
        lines += [f"  baseline FAILURE  {failure}" for failure in baseline["failures"]]
    return "\n".join(lines)


def _p(d: dict[str, Any] | None, key: str) -> str:
    value = (d or {}).get(key)
    return "n/a" if value is None else f"{value:.0f}"


def _tiers(seconds: dict[str, dict[str, float]]) -> str:
    return "; ".join(f"{kind} " + " ".join(f"{tier} {value:.0f}s" for tier, value in seconds[kind].items())
                     for kind in ("video", "audio") if seconds.get(kind))


def role_lines(report: dict[str, Any]) -> list[str]:
    """What each role received; with a baseline, its row right under the adaptive run's."""
    roles = report.get("by_role", {})
    baseline = (report.get("baseline") or {}).get("by_role", {})
    lines = [f"  by role           {'':14} {'fps p50':>7} {'freeze':>7} {'g2g p50/p95 ms':>15} "
             f"{'audio p50':>9} {'marks lost':>10}  tiers (stream-seconds)"]
    for role, data in roles.items():
        rows = [(f"{role} ({data['link']})", data)]
        if role in baseline:
            rows = [(f"{role} ({data['link']}) adapt {report.get('adapt')}", data),
                    (f"{role} adapt {report['baseline'].get('adapt')}", baseline[role])]
        for label, d in rows:
            lines.append(
                f"    {label:28} {_p(d['fps'], 'p50'):>7} {d['freeze_ratio'] if d['freeze_ratio'] is not None else 'n/a':>7} "
                f"{_p(d['g2g_ms'], 'p50') + '/' + _p(d['g2g_ms'], 'p95'):>15} {_p(d['audio_ms'], 'p50'):>9} "
                f"{d['audio_marks_missing']:>10}  {_tiers(d['tier_seconds'])}"
            )
            if d.get("chromium"):
                c = d["chromium"]
                lines.append(f"      in Chromium: audio concealed {d['audio_concealed_ratio']}, {c['freezeCount']} freezes "
                             f"({c['totalFreezesDuration']} s), {c['framesDecoded']} frames decoded at widths "
                             f"{c['frameWidth']}, jitter buffer {c['jitter_buffer_ms']} ms")
        for switch in data["switches"][:8]:
            after = switch["seconds_after_link_change"]
            lines.append(f"      switch at {switch['t']:5.1f} s {switch['kind']} {switch['from']} -> {switch['to']}"
                         + (f", {after} s after its link changed" if after is not None else "")
                         + (f", longest freeze around it {switch['freeze_ms']} ms" if switch["freeze_ms"] else ""))
    return lines


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
    axes[1].plot(t, [p["fps"] for p in timeline], label="all")
    roles = sorted({role for p in timeline for role in p.get("by_role", {})})
    if len(roles) > 1:  # what each role received: the weak side's reception is the point of a mixed run
        for role in roles:
            axes[1].plot(t, [p.get("by_role", {}).get(role, {}).get("fps") for p in timeline], label=f"{role} receives",
                         linewidth=1)
        axes[1].legend(loc="upper right")
    axes[1].set_ylabel("fps per stream")
    axes[2].plot(t, [p["server_cpu_pct"] for p in timeline], label="server")
    axes[2].plot(t, [p["generator_cpu_pct"] for p in timeline], label="generator")
    axes[2].set_ylabel("CPU (% of a core)")
    axes[2].set_xlabel("seconds")
    axes[2].legend(loc="upper right")
    for change in report.get("link_changes", []):  # a schedule's steps: where the link changed
        for axis in axes:
            axis.axvline(change["t"], color="grey", linestyle=":", linewidth=1)
        axes[0].annotate(f"{change['role']} {change['profile']}", (change["t"], 1), xycoords=("data", "axes fraction"),
                         fontsize=7, rotation=90, va="top", ha="right", color="grey")
    fig.suptitle(f"{report['consults']} consults, profile {report['profile']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
