"""`vaidya-bench capacity`: add consultations until quality breaks; report the largest sustainable count.

One server, one growing set of consultations (`bench.consults.Consults`): each step adds `--step`
consultations, waits until everyone sees video, and measures a window. Quality breaks when, in a window,
p95 glass-to-glass exceeds 400 ms, RTP loss exceeds 1 %, freezes take more than 2 % of the time, or a
participant never sees video. A window that breaks while other processes load the machine (over half a
core) is measured again (`--retries`), and a limit reached that way says so. If the load generator
saturates its core first, the run stops there and
says so: the count is then a lower bound set by this machine's generator, not by the server.
With `--light`, all consultations but the first `--probes` are light clients (`bench.light_participant`):
glass-to-glass, freezes and video are judged on the probes, loss on every client. `light_consults`,
`probe_consults` and `worker_cpu_share_max` are those of the step that gave `max_consults` (else the last).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from bench.consults import add_common_arguments, check_arguments, loopback_candidates, progress, start, write_json

BUSY_OTHERS_PCT = 50.0
"""Above this much CPU (% of a core) used by other processes, a broken window is measured again."""
G2G_P95_LIMIT_MS = 400.0
LOSS_LIMIT_PCT = 1.0
FREEZE_LIMIT_RATIO = 0.02


def broken(window: dict[str, Any]) -> list[str]:
    """Why this window's quality is not sustainable (empty: it is)."""
    reasons = []
    g2g = window["g2g_ms"]["p95"]
    if g2g is None or g2g > G2G_P95_LIMIT_MS:
        reasons.append(f"p95 glass-to-glass {g2g if g2g is None else round(g2g)} ms > {G2G_P95_LIMIT_MS:g} ms")
    if window["loss_pct"] is not None and window["loss_pct"] > LOSS_LIMIT_PCT:
        reasons.append(f"loss {window['loss_pct']} % > {LOSS_LIMIT_PCT:g} %")
    if window["freeze_ratio"] is None or window["freeze_ratio"] > FREEZE_LIMIT_RATIO:
        reasons.append(f"freeze ratio {window['freeze_ratio']} > {FREEZE_LIMIT_RATIO:g}")
    if window["joined"] < window["participants"]:
        reasons.append(f"only {window['joined']} of {window['participants']} participants saw video")
    return reasons


def _suspects(window: dict[str, Any]) -> str:
    """What besides the server may have set a limit found in this window."""
    machine = window["machine"]
    notes = []
    if window["generator_saturated"]:
        notes.append("the load generator could not keep up (add --workers)")
    if machine["others_pct"] > BUSY_OTHERS_PCT:
        notes.append(f"other processes used {machine['others_pct']} % CPU")
    elif machine["saturated"]:
        notes.append(f"the machine's CPUs were saturated ({machine['busy_pct']} % busy; generator "
                     f"{window['generator_cpu_pct']} %, server {window['server_cpu_pct']} %)")
    if not notes:
        return ""
    return " — but " + "; ".join(notes) + ": the server alone would carry more"


def _step_summary(window: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    keys = ("consults", "light_consults", "probe_consults", "participants", "joined", "g2g_ms", "audio_ms", "fps",
            "freeze_ratio", "psnr_db", "loss_pct", "loss_pct_by_client", "server_cpu_pct", "server_rss_mb",
            "worker_cpu_share_max", "received_pps", "generator_cpu_pct", "generator_loop_lag_ms_p95",
            "generator_saturated", "machine", "timeline")
    return {**{key: window[key] for key in keys}, "shaper_conforms": window["shaper"].get("conforms"),
            "broken": reasons}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with loopback_candidates():
        return await _run(args)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    server, consults = await start(args)
    steps: list[dict[str, Any]] = []
    limit = f"reached --max-consults {args.max_consults} without breaking"
    last: dict[str, Any] = {}
    try:
        while consults.count < args.max_consults:
            await consults.add(min(args.step, args.max_consults - consults.count), args.ramp)
            await consults.settle()
            for attempt in range(args.retries + 1):
                last = await consults.measure(args.seconds)
                reasons = broken(last)
                if not reasons or last["machine"]["others_pct"] <= BUSY_OTHERS_PCT or attempt == args.retries:
                    break
                progress("")
                print(f"{consults.count:3d} consults broke while other processes used "
                      f"{last['machine']['others_pct']} % CPU: measuring again", file=sys.stderr)
            steps.append(_step_summary(last, reasons))
            progress("")
            g2g = last["g2g_ms"]["p95"]
            print(f"{consults.count:3d} consults: g2g p95 {'n/a' if g2g is None else round(g2g)} ms, loss {last['loss_pct']} %, "
                  f"freezes {last['freeze_ratio']}, server CPU {last['server_cpu_pct']} %, generator CPU "
                  f"{last['generator_cpu_pct']} %, other processes {last['machine']['others_pct']} %"
                  + (f" -> breaks: {'; '.join(reasons)}" if reasons else ""),
                  file=sys.stderr)
            if reasons:
                limit = "quality broke: " + "; ".join(reasons) + _suspects(last)
                break
            if last["generator_saturated"]:
                limit = ("the load generator could not keep up first (a process at 90 % of a core or its event "
                         "loop late by > 25 ms): a lower bound, not the server's limit; add --workers")
                break
    finally:
        await consults.close()
        server.stop()
    sustainable = [s for s in steps if not s["broken"]]
    top = max(sustainable, key=lambda s: s["consults"], default=steps[-1] if steps else {})
    return {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "profile": consults.links.describe(),
        "link": consults.links.profiles["patient"].to_dict() if consults.links.uniform else None,
        "media": consults.media(),
        "criteria": {"g2g_ms_p95_max": G2G_P95_LIMIT_MS, "loss_pct_max": LOSS_LIMIT_PCT,
                     "freeze_ratio_max": FREEZE_LIMIT_RATIO},
        "max_consults": max((s["consults"] for s in sustainable), default=0),
        "limit": limit,
        "light": consults.light,
        "light_consults": top.get("light_consults", 0),
        "probe_consults": top.get("probe_consults", 0),
        "server_workers": consults.server.workers,
        "worker_cpu_share_max": top.get("worker_cpu_share_max"),
        "shaper": last.get("shaper", {"name": "none"}),
        "steps": steps,
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("capacity", help="add consultations until quality breaks; report the largest sustainable count")
    p.add_argument("--step", type=int, default=2, help="consultations added per step (default 2)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured window per step (default 10)")
    p.add_argument("--max-consults", type=int, default=40, help="stop here even if quality holds (default 40)")
    p.add_argument("--ramp", type=float, default=None, help="consultations joined per second within a step")
    p.add_argument("--retries", type=int, default=2,
                   help="measure a broken step again this many times while other processes load the machine (default 2)")
    add_common_arguments(p)
    p.set_defaults(func=main_capacity)


def main_capacity(args: argparse.Namespace) -> int:
    problem = check_arguments(args) or (
        "--step, --max-consults must be >= 1 and --seconds > 0"
        if args.step < 1 or args.max_consults < 1 or args.seconds <= 0 else None
    )
    if problem:
        print(f"vaidya-bench capacity: {problem}", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    print(f"max sustainable consults on {report['profile']}: {report['max_consults']} ({report['limit']})")
    write_json(report, args.json)
    return 0
