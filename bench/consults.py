"""`vaidya-bench consults`: N concurrent consultations over an emulated link, measured as a clinician sees them.

Each consultation is a patient and a doctor in their own room, both real aiortc clients that publish
pre-encoded stamped video and marked Opus sized for the link (`MediaPlan`) and receive each other. With
a shaped profile every client gets its own link in the shaping relay (its own process), in both
directions. The server is started as its own process (`vaidya serve` on a free port) unless `--url`
names a running one. After the last consultation has joined, the run lasts `--seconds`; then the
report aggregates every received stream and names the shaper and what it measured the links to be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from typing import Any

import psutil

from bench.measure import percentiles
from bench.participant import MediaPlan, Participant
from bench.profiles import LinkProfile, ProfileError, get_profile
from bench.shaped_peer import shaped_factory
from bench.shaper import conformance
from bench.shaper_process import ShaperProcess
from signaling.grants import mint_token

GENERATOR_SATURATED_PCT = 90.0
"""One Python process cannot use more than one core; near it, the generator's own numbers are suspect."""


class Server:
    """The server under test: our own `vaidya serve` process, or a running one at `--url`."""

    def __init__(self, url: str | None, secret: str | None) -> None:
        self._own = None
        if url is None:
            from bench.forward import ServerUnderTest

            self.secret = secrets.token_urlsafe(32)
            self._own = ServerUnderTest("vaidya", self.secret)
            self.url = self._own.ws_url
        else:
            if not secret:
                raise SystemExit("--url needs the server's token secret: --secret or VAIDYA_SECRET")
            self.url, self.secret = url, secret

    async def ready(self) -> None:
        if self._own is not None:
            await self._own.ready()

    def cpu_seconds(self) -> float | None:
        return self._own.cpu_seconds() if self._own else None

    def rss_mb(self) -> float | None:
        return self._own.rss_mb() if self._own else None

    def stop(self) -> None:
        if self._own is not None:
            self._own.stop()


class Run:
    """The participants, links and counters of one `consults` run."""

    def __init__(self, server: Server, profile: LinkProfile, shaper: ShaperProcess | None) -> None:
        self.server, self.profile, self.shaper = server, profile, shaper
        self.plan = MediaPlan.for_link(profile)
        self.participants: list[Participant] = []
        self.links: list[int] = []
        self.failures: list[str] = []

    def _participant(self, room: str, identity: str, role: str) -> Participant:
        token = mint_token(self.server.secret, room=room, identity=identity, role=role, ttl_s=3600)
        factory = None
        if self.shaper is not None:
            link = self.shaper.add_link(self.profile)
            self.links.append(link)
            factory = shaped_factory(self.shaper, link)
        participant = Participant(self.server.url, room, token, self.plan, self.plan, factory)
        self.participants.append(participant)
        return participant

    async def add_consult(self, index: int) -> None:
        room = f"bench-consult-{index}"
        patient = self._participant(room, f"patient-{index}", "patient")
        doctor = self._participant(room, f"doctor-{index}", "doctor")
        try:
            await patient.start()
            await doctor.start()
        except Exception as exc:  # noqa: BLE001 - one failed consult is reported, the run goes on
            self.failures.append(f"consult {index}: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.participants), return_exceptions=True)


def _progress(text: str) -> None:
    sys.stderr.write(f"\r\x1b[2K{text}")
    sys.stderr.flush()


def _bar(done: float, total: float, width: int = 30) -> str:
    filled = int(width * min(1.0, done / total)) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


async def execute(args: argparse.Namespace) -> dict[str, Any]:
    """Run the scenario and return the report (see docs/bench.md for its schema)."""
    from media.sfu.aiortc_bridge import restrict_host_addresses

    profile = get_profile(args.profile)
    restrict_host_addresses(["127.0.0.1"])
    server = Server(args.url, args.secret or os.environ.get("VAIDYA_SECRET"))
    shaper = ShaperProcess() if profile.shaped else None
    me = psutil.Process()
    run = Run(server, profile, shaper)
    try:
        await server.ready()
        _warm_up(run.plan)
        started = time.monotonic()
        for i in range(args.consults):
            await run.add_consult(i)
            _progress(f"joining {_bar(i + 1, args.consults)} {i + 1}/{args.consults} consults")
            if args.ramp:
                await asyncio.sleep(max(0.0, started + (i + 1) / args.ramp - time.monotonic()))
        for participant in run.participants:
            participant.start_window()
        counters0 = _counters(server, shaper, me)
        rtp0 = [await p.rtp_counters() for p in run.participants]
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < args.seconds:
            frames = sum(p.video.frames for p in run.participants)
            _progress(f"measuring {_bar(elapsed, args.seconds)} {elapsed:4.0f}/{args.seconds:g} s, {frames} frames")
            await asyncio.sleep(min(1.0, args.seconds - elapsed))
        wall = time.monotonic() - t0
        counters1 = _counters(server, shaper, me)
        rtp1 = [await p.rtp_counters() for p in run.participants]
        _progress("")
        report = _report(args, run, wall, counters0, counters1, rtp0, rtp1)
    finally:
        await run.close()
        if shaper is not None:
            shaper.close()
        server.stop()
    return report


def _warm_up(plan: MediaPlan) -> None:
    """Encode the media loops before anyone joins, so join times measure the network, not the encoder."""
    from bench.audio_marks import encode_loop as encode_audio
    from bench.video_source import encode_loop as encode_video

    encode_video(plan.width, plan.height, plan.fps, plan.video_bps)
    encode_audio(plan.audio_bps)


def _counters(server: Server, shaper: ShaperProcess | None, me: psutil.Process) -> dict[str, float | None]:
    times = me.cpu_times()
    return {
        "server_cpu": server.cpu_seconds(),
        "generator_cpu": times.user + times.system,
        "shaper_cpu": shaper.cpu_seconds() if shaper else None,
    }


def _cpu_pct(before: float | None, after: float | None, wall: float) -> float | None:
    if before is None or after is None or wall <= 0:
        return None
    return round(100 * (after - before) / wall, 1)


def _report(
    args: argparse.Namespace,
    run: Run,
    wall: float,
    c0: dict[str, float | None],
    c1: dict[str, float | None],
    rtp0: list[dict[str, int]],
    rtp1: list[dict[str, int]],
) -> dict[str, Any]:
    streams = [p.summary() for p in run.participants]
    videos = [s["video"] for s in streams]
    g2g = [ms for p in run.participants for ms in p.video.latency_ms]
    psnr_db = [db for p in run.participants for db in p.video.psnr_db]
    audio = [ms for s in streams for ms in s["audio_latency_ms"]]
    freeze_ms = sum(v["freeze_ms"] for v in videos)
    shown_ms = sum(p.video.freezes.duration_ms for p in run.participants)
    received = sum(b["packets_received"] - a["packets_received"] for a, b in zip(rtp0, rtp1))
    lost = sum(b["packets_lost"] - a["packets_lost"] for a, b in zip(rtp0, rtp1))
    kbps = [(b["bytes_received"] - a["bytes_received"]) * 8 / wall / 1000 for a, b in zip(rtp0, rtp1)]
    resolutions: dict[str, int] = {}
    for v in videos:
        for size, count in v["resolutions"].items():
            resolutions[size] = resolutions.get(size, 0) + count
    generator_cpu = _cpu_pct(c0["generator_cpu"], c1["generator_cpu"], wall)
    report: dict[str, Any] = {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "consults": args.consults,
        "participants": len(run.participants),
        "seconds": round(wall, 1),
        "profile": run.profile.name,
        "link": run.profile.to_dict(),
        "media": run.plan.describe(),
        "join_ms": percentiles([s["join_ms"] for s in streams if s["join_ms"] is not None]),
        "joined": sum(1 for s in streams if s["join_ms"] is not None),
        "g2g_ms": percentiles(g2g),
        "audio_ms": percentiles(audio),
        "audio_marks_missing": sum(s["audio_marks_missing"] for s in streams),
        "fps": percentiles([v["fps"] for v in videos]),
        "freezes": sum(v["freezes"] for v in videos),
        "freeze_ms": freeze_ms,
        "freeze_ratio": round(freeze_ms / shown_ms, 4) if shown_ms else None,
        "psnr_db": percentiles(psnr_db),
        "resolutions": resolutions,
        "frames_skipped": sum(v["frames_skipped"] for v in videos),
        "stamps_unreadable": sum(v["stamps_unreadable"] for v in videos),
        "loss_pct": _ratio_pct(lost, lost + received),
        "receive_kbps": percentiles(kbps),
        "server_cpu_pct": _cpu_pct(c0["server_cpu"], c1["server_cpu"], wall),
        "server_rss_mb": round(run.server.rss_mb(), 1) if run.server.rss_mb() is not None else None,
        "generator_cpu_pct": generator_cpu,
        "generator_saturated": generator_cpu is not None and generator_cpu >= GENERATOR_SATURATED_PCT,
        "shaper": _shaper_report(run, wall, c0, c1),
        "failures": run.failures + [f"{s['room']}: {s['error']}" for s in streams if s["error"]],
        "streams": streams,
    }
    return report


def _shaper_report(run: Run, wall: float, c0: dict[str, float | None], c1: dict[str, float | None]) -> dict[str, Any]:
    if run.shaper is None:
        return {"name": "none", "reason": f"profile {run.profile.name!r} needs no shaping"}
    links = [run.shaper.stats(link) for link in run.links]
    problems: list[str] = []
    measured: dict[str, Any] = {}
    for direction in ("up", "down"):
        sides = [link[direction] for link in links]
        for i, side in enumerate(sides):
            problems += [f"link {i + 1} {direction}: {p}" for p in conformance(side)]
        packets_in = sum(s["packets_in"] for s in sides)
        delays = [s["added_delay_ms"] for s in sides if s["added_delay_ms"]["count"]]
        measured[direction] = {
            "loss_pct": _ratio_pct(sum(s["dropped_loss"] for s in sides), packets_in),
            "queue_drop_pct": _ratio_pct(sum(s["dropped_queue"] for s in sides), packets_in),
            "added_delay_ms_p50": _round(percentiles([d["p50"] for d in delays])["p50"]),
            "added_delay_ms_p95": _round(max((d["p95"] for d in delays), default=None)),
            "delivered_kbps_p50": _round(percentiles([s["delivered_kbps"] for s in sides])["p50"]),
            "peak_kbps_max": _round(max((s["peak_kbps"] for s in sides if s["peak_kbps"] is not None), default=None)),
        }
    return {
        "name": run.shaper.name,
        "links": len(links),
        "cpu_pct": _cpu_pct(c0["shaper_cpu"], c1["shaper_cpu"], wall),
        "measured": measured,
        "conforms": not problems,
        "problems": problems,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ratio_pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def table(report: dict[str, Any]) -> str:
    """The end-of-run summary a person reads."""

    def pct(d: dict[str, Any], unit: str) -> str:
        if not d or d.get("p50") is None:
            return "n/a"
        return f"p50 {d['p50']:.0f}{unit}  p95 {d['p95']:.0f}{unit}  max {d['max']:.0f}{unit}"

    shaper = report["shaper"]
    lines = [
        f"{report['consults']} consults, profile {report['profile']}, {report['seconds']} s measured; {report['media']}",
        f"  joined            {report['joined']}/{report['participants']} participants saw video",
        f"  join time         {pct(report['join_ms'], ' ms')}",
        f"  glass-to-glass    {pct(report['g2g_ms'], ' ms')}",
        f"  audio latency     {pct(report['audio_ms'], ' ms')}",
        f"  fps               {pct(report['fps'], '')}",
        f"  freezes           {report['freezes']} ({report['freeze_ms']} ms, ratio {report['freeze_ratio']})",
        f"  PSNR              {pct(report['psnr_db'], ' dB')}",
        f"  resolutions       {report['resolutions']}",
        f"  RTP loss          {report['loss_pct']} %   receive {pct(report['receive_kbps'], ' kbit/s')}",
        f"  server            CPU {report['server_cpu_pct']} % of a core, RSS {report['server_rss_mb']} MB",
        f"  generator         CPU {report['generator_cpu_pct']} %" + ("  SATURATED: numbers suspect" if report["generator_saturated"] else ""),
    ]
    if shaper["name"] != "none":
        up, down = shaper["measured"]["up"], shaper["measured"]["down"]
        lines.append(f"  shaper            {shaper['name']}, {shaper['links']} links, CPU {shaper['cpu_pct']} %, "
                     + ("conforms to the profile" if shaper["conforms"] else f"DID NOT CONFORM: {len(shaper['problems'])} problems"))
        for name, side in (("up", up), ("down", down)):
            lines.append(f"    {name:4}            loss {side['loss_pct']} %, queue drops {side['queue_drop_pct']} %, "
                         f"added delay p50 {side['added_delay_ms_p50']} ms, delivered p50 {side['delivered_kbps_p50']} kbit/s")
    for failure in report["failures"]:
        lines.append(f"  FAILURE           {failure}")
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consults", help="N concurrent consultations over an emulated link, measured end to end")
    p.add_argument("--consults", type=int, default=2, help="concurrent consultations (patient + doctor each; default 2)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured time after the last one joined (default 20)")
    p.add_argument("--profile", default="lan", help="lan, 4g, 3g, 2g, edge-bad or a spec like rate=150k,delay=300ms,loss=2%%")
    p.add_argument("--ramp", type=float, default=None, help="consultations joined per second (default: one after another)")
    p.add_argument("--url", default=None, help="a running server's WebSocket URL (default: start `vaidya serve`)")
    p.add_argument("--secret", default=None, help="with --url: the server's token secret (or VAIDYA_SECRET)")
    p.add_argument("--json", default=None, help="write the report to this file")
    p.set_defaults(func=main_consults)


def main_consults(args: argparse.Namespace) -> int:
    try:
        get_profile(args.profile)
    except ProfileError as exc:
        print(f"vaidya-bench consults: {exc}", file=sys.stderr)
        return 2
    if args.consults < 1 or args.seconds <= 0:
        print("vaidya-bench consults: --consults must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    report = asyncio.run(execute(args))
    print(table(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 1 if report["failures"] else 0
