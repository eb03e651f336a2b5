"""`vaidya-bench soak`: consultations coming and going plus portal traffic for minutes, watching for leaks.

A leak hides in what a short bench never repeats: joins and leaves. The soak starts `vaidya serve` as
`consults` does (`bench.consults.start`, with `--dev --seed-demo` so the portal can be driven), keeps N
consultations in progress, each lasting `--consult-seconds` before it hangs up and a fresh one joins in
its place (staggered, so someone joins or leaves every few seconds), runs a clinic's portal traffic
beside them (`bench.portal_traffic`), and every `--sample-s` seconds samples the server
(`bench.server_sample`: RSS, fds, threads, UDP sockets, asyncio tasks, GC objects) and the interval's
join, portal and (with probes) glass-to-glass latencies. `bench.soak_analysis` judges the timeline after
its warm-up. At the end every client leaves and the server's counts must come back to what they were
before anyone joined.

With `--light`, the first `--probes` consultations are full clients that stay the whole run (their
glass-to-glass latency per interval shows drift in the media path); all others are light and churn.
Clients run in this process (a consultation leaves from the process that joined it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from typing import Any

import psutil

from bench import consults as consults_bench
from bench import report as reporting
from bench.clients import ClientGroup
from bench.forward import add_server_workers_argument
from bench.measure import percentiles
from bench.portal_traffic import MAX_RPS, PortalTraffic, Request
from bench.server_sample import ServerSampler
from bench.soak_analysis import analyse, returned_to_baseline

SERVE_ARGS = ("--dev", "--seed-demo")
"""The dev SMS inbox (OTP codes for the portal's patients) and a demo doctor to admit them."""
STOP_WITHIN_S = 60.0
"""How long the churn and the portal get to finish the join or visit in progress when the run ends."""
SETTLE_AFTER_S = 30.0
"""How long the server gets, once every client has left, to let go of what they held."""


class Churn:
    """Keeps `count` consultations in progress, replacing each after `lifetime` seconds; the first
    `permanent` (the probes) stay. Initial lifetimes are staggered over one lifetime so replacements are
    spread out, not all at once."""

    def __init__(self, consults: consults_bench.Consults, count: int, lifetime: float, permanent: int) -> None:
        self.consults, self.count, self.lifetime, self.permanent = consults, count, lifetime, permanent
        self.joins: list[dict[str, Any]] = []
        """One per member as its join completed (or its consultation left without it): `t` (Unix time
        it was seen), `join_ms` (None: its video never arrived)."""
        self.replaced = 0
        self._live: dict[int, list[Any]] = {}
        """Consultation in progress → its members whose join has not been seen yet."""
        self._ends: dict[int, float] = {}
        self._stop = asyncio.Event()

    async def _join(self) -> int:
        index = self.consults.count
        await self.consults.add(1)
        self._live[index] = self.consults.members(index)
        return index

    async def start(self) -> None:
        """Join the first `count` consultations, one after another."""
        now = time.monotonic()
        for i in range(self.count):
            index = await self._join()
            if index >= self.permanent:
                self._ends[index] = now + self.lifetime * (i + 1) / self.count

    async def run(self) -> None:
        """Replace consultations as their time comes, until `stop()`."""
        while not self._stop.is_set() and self._ends:
            index = min(self._ends, key=self._ends.__getitem__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, self._ends[index] - time.monotonic()))
            if self._stop.is_set():
                break
            del self._ends[index]
            await self._leave(index)
            fresh = await self._join()
            self._ends[fresh] = time.monotonic() + self.lifetime
            self.replaced += 1

    def note_joins(self) -> None:
        """Record the joins completed since the last call (the soak calls it at each sample)."""
        now = time.time()
        for index, waiting in self._live.items():
            done = [m for m in waiting if m.join_ms is not None]
            self.joins += [{"t": now, "join_ms": m.join_ms} for m in done]
            self._live[index] = [m for m in waiting if m.join_ms is None]

    async def _leave(self, index: int) -> None:
        self.note_joins()
        self.joins += [{"t": time.time(), "join_ms": None} for _ in self._live.pop(index, [])]
        await self.consults.remove(index)

    def stop(self) -> None:
        """Replace no more (wakes `run` at once)."""
        self._stop.set()

    async def leave_all(self) -> None:
        """Every consultation still in progress (probes too) hangs up."""
        for index in list(self._live):
            await self._leave(index)
        self._ends.clear()


def _between(items: list[Any], start: float, end: float, key: Any) -> list[Any]:
    return [item for item in items if start <= key(item) < end]


def interval_point(sample: dict[str, Any], t0: float, start: float, churn: Churn, requests: list[Request],
                   g2g: list[float], cpu_pct: float | None, lag_ms: list[float]) -> dict[str, Any]:
    """One timeline point: the server sample taken at the end of the interval [start, sample's time), with
    the joins, portal requests and g2g latencies measured in it, and how busy the machine was."""
    end = sample["t"]
    joins = [j["join_ms"] for j in _between(churn.joins, start, end, lambda j: j["t"])]
    done = [ms for ms in joins if ms is not None]
    answered = _between(requests, start, end, lambda r: r.t)
    join, portal, glass = percentiles(done), percentiles([r.ms for r in answered]), percentiles(g2g)
    return {
        **{k: v for k, v in sample.items() if k != "t"},
        "t": round(end - t0, 1),
        "joins": len(joins), "join_failures": len(joins) - len(done),
        "join_ms_p50": join["p50"], "join_ms_p95": join["p95"],
        "portal_requests": len(answered),
        "portal_errors": sum(1 for r in answered if not 200 <= r.status < 400),
        "portal_ms_p50": portal["p50"], "portal_ms_p95": portal["p95"],
        "g2g_ms_p50": glass["p50"], "g2g_ms_p95": glass["p95"],
        "server_cpu_pct": cpu_pct,
        "generator_lag_ms_p95": percentiles(lag_ms)["p95"],
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def consults_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """What `bench.consults.start` needs: every role on the loopback link, clients in this process."""
    return argparse.Namespace(url=None, secret=None, profile="lan", schedule=None, third_party=False, seconds=0.0,
                              workers=1, server_workers=args.server_workers, light=args.light, probes=args.probes,
                              server_log=args.server_log)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with consults_bench.loopback_candidates():
        server, consults = await consults_bench.start(consults_arguments(args), serve_args=SERVE_ARGS)
        try:
            return await _soak(args, server, consults)
        finally:
            await consults.close()
            server.stop()


async def _soak(args: argparse.Namespace, server: consults_bench.Server, consults: consults_bench.Consults) -> dict[str, Any]:
    sampler = ServerSampler(server.own.processes, server.http_url)
    group = consults.groups[0]
    assert isinstance(group, ClientGroup)
    permanent = args.probes if args.light else 0
    churn = Churn(consults, args.consults, args.consult_seconds, permanent)
    portal = PortalTraffic(server.http_url, server.own.data_dir, args.portal_rps) if args.portal_rps else None
    tasks: list[asyncio.Future[Any]] = []
    try:
        baseline = await sampler.sample()
        t0 = time.time()
        if portal is not None:
            tasks.append(asyncio.ensure_future(portal.run()))
        await churn.start()
        tasks.append(asyncio.ensure_future(churn.run()))
        timeline = []
        duration = args.minutes * 60
        start, cpu_last, wall_last = t0, server.cpu_seconds(), time.monotonic()
        await group.tick()  # latencies before the first interval are not its
        group.lag.samples = []
        while time.time() - t0 < duration:
            await asyncio.sleep(min(args.sample_s, duration - (time.time() - t0)))
            tick = await group.tick()
            churn.note_joins()
            lag, group.lag.samples = group.lag.samples, []
            cpu, wall = server.cpu_seconds(), time.monotonic()
            sample = await sampler.sample()
            cpu_pct = round(100 * (cpu - cpu_last) / (wall - wall_last), 1) if cpu is not None and cpu_last is not None else None
            point = interval_point(sample, t0, start, churn, portal.requests if portal else [], tick["latencies"],
                                   cpu_pct, lag)
            timeline.append(point)
            start, cpu_last, wall_last = sample["t"], cpu, wall
            consults_bench.progress(
                f"soak {point['t']:5.0f}/{duration:g} s, "
                f"RSS {point['rss_mb']:.0f} MB, tasks {point.get('tasks')}, fds {point['fds']}, "
                f"{churn.replaced} replaced, {portal.visits if portal else 0} portal visits")
        churn.stop()
        if portal is not None:
            portal.stop()
        await asyncio.wait(tasks, timeout=STOP_WITHIN_S)
        for task in tasks:  # one still stuck is given up on: the report still comes
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if portal is not None:
            await portal.close()  # its keep-alive connections are held by the server too
        await churn.leave_all()
        after = await _settled(sampler, baseline)
    finally:
        for task in tasks:
            task.cancel()
        await sampler.close()
        if portal is not None:
            await portal.close()
    consults_bench.progress("")
    requests = portal.requests if portal else []
    return {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "minutes": args.minutes, "consults": args.consults, "light": args.light,
        "probes": permanent, "consult_seconds": args.consult_seconds, "portal_rps": args.portal_rps,
        "sample_s": args.sample_s, "server_workers": args.server_workers,
        "replaced": churn.replaced,
        "joins": len(churn.joins), "join_failures": sum(1 for j in churn.joins if j["join_ms"] is None),
        "portal": {
            "visits": portal.visits if portal else 0, "requests": len(requests),
            "ok": sum(1 for r in requests if 200 <= r.status < 400),
            "errors": sum(1 for r in requests if not 200 <= r.status < 400),
            "failures": portal.failures[:20] if portal else [],
            "latency_ms": percentiles([r.ms for r in requests]),
        },
        "generator_failures": consults.failures + group.failures,
        "machine": {"cpus": os.cpu_count(), "load_avg_end": [round(x, 2) for x in os.getloadavg()],
                    "memory_mb": round(psutil.virtual_memory().total / 2**20), "python": sys.version.split()[0]},
        "baseline": baseline, "after_leaving": after,
        "leak_check": returned_to_baseline(baseline, after),
        "analysis": analyse(timeline),
        "timeline": timeline,
    }


async def _settled(sampler: ServerSampler, baseline: dict[str, Any]) -> dict[str, Any]:
    """A sample once the server's counts are back at the baseline's, or after `SETTLE_AFTER_S`."""
    deadline = time.monotonic() + SETTLE_AFTER_S
    while True:
        sample = await sampler.sample()
        if returned_to_baseline(baseline, sample)["ok"] or time.monotonic() > deadline:
            return sample
        await asyncio.sleep(1.0)


def verdict(report: dict[str, Any]) -> bool:
    """PASS: nothing grows, latency holds, the counts came back once everyone left, and the load ran."""
    portal_ok = report["portal_rps"] == 0 or (report["portal"]["visits"] > 0 and report["portal"]["errors"] == 0)
    return report["analysis"]["pass"] and report["leak_check"]["ok"] and portal_ok and report["joins"] > 0


def table(report: dict[str, Any]) -> str:
    """The end-of-run summary a person reads."""
    a, portal = report["analysis"], report["portal"]
    rss = a["rss"] or {}
    lines = [
        f"soak: {report['minutes']:g} min, {report['consults']} consults "
        f"({'light, ' + str(report['probes']) + ' probes' if report['light'] else 'full clients'}), each "
        f"{report['consult_seconds']:g} s; {report['replaced']} replaced, {report['joins']} joins "
        f"({report['join_failures']} without video); portal {report['portal_rps']:g} req/s: {portal['visits']} visits, "
        f"{portal['requests']} requests, {portal['errors']} errors",
        f"RSS after warm-up: {rss.get('first_mb')} → {rss.get('last_mb')} MB ({rss.get('growth_pct')} %, fitted "
        f"{rss.get('fitted_growth_pct')} %, {rss.get('slope_pct_per_10_min')} % per 10 min)",
    ]
    for key, c in a["counts"].items():
        if c is not None:
            lines.append(f"{key}: {c['min']:g}–{c['max']:g}, fitted rise {c['rise']:g} (noise sd {c['noise_sd']:g}, "
                         f"floor {c['floor']:g}){' GROWING' if c['growing'] else ''}")
    for key, d in a["latency"].items():
        if d is not None:
            lines.append(f"{key} p50 {d['p50_first']:.0f} → {d['p50_last']:.0f} ms (range {d['p50_min']:.0f}–"
                         f"{d['p50_max']:.0f}, fitted drift {d['fitted_drift_pct']} %), p95 max {d['p95_max']:.0f} ms"
                         f"{' DRIFTING' if d['drifting'] else ''}")
    leak = report["leak_check"]
    lines.append(f"after everyone left: {leak['after']} vs before anyone joined {leak['baseline']}"
                 f"{' LEFT OVER: ' + ', '.join(leak['left_over']) if leak['left_over'] else ''}")
    lines.append(f"load average at the end: {report['machine']['load_avg_end']} on {report['machine']['cpus']} cpus")
    lines += [f"problem: {p}" for p in a["problems"]] + [f"portal failure: {f}" for f in portal["failures"][:5]]
    lines.append("PASS" if verdict(report) else "FAIL")
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("soak", help="consultations joining and leaving plus portal traffic for minutes: leaks and drift")
    p.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    p.add_argument("--consults", type=int, default=15, help="consultations in progress at any time (default 15)")
    p.add_argument("--consult-seconds", type=float, default=60.0,
                   help="how long each consultation lasts before a fresh one replaces it (default 60)")
    p.add_argument("--light", action="store_true",
                   help="light clients for all consultations but --probes, which stay the whole run and measure g2g")
    p.add_argument("--probes", type=int, default=2, metavar="K", help="with --light: full consultations (default 2)")
    p.add_argument("--portal-rps", type=float, default=2.0,
                   help=f"portal requests per second, 0 for none (default 2, at most {MAX_RPS:g}: the portal's "
                        "per-address write limit)")
    p.add_argument("--sample-s", type=float, default=30.0, help="seconds between samples of the server (default 30)")
    p.add_argument("--server-log", metavar="FILE", default=None, help="keep the server's log in FILE")
    p.add_argument("--json", default=None, help="write the report to this file")
    add_server_workers_argument(p)
    p.set_defaults(func=main_soak)


def check_arguments(args: argparse.Namespace) -> str | None:
    """The first problem with the arguments, or None."""
    if args.minutes <= 0 or args.sample_s <= 0 or args.consult_seconds <= 0:
        return "--minutes, --sample-s and --consult-seconds must be > 0"
    if args.consults < 1:
        return "--consults must be >= 1"
    if args.light and not 1 <= args.probes < args.consults:
        return "--probes must be >= 1 and fewer than --consults: the others churn"
    if args.probes != 2 and not args.light:
        return "--probes needs --light"
    if not 0 <= args.portal_rps <= MAX_RPS:
        return f"--portal-rps must be between 0 and {MAX_RPS:g}"
    if args.minutes * 60 < 5 * args.sample_s:
        return "the run needs at least 5 samples: --minutes × 60 >= 5 × --sample-s"
    return None


def main_soak(args: argparse.Namespace) -> int:
    problem = check_arguments(args)
    if problem:
        print(f"vaidya-bench soak: {problem}", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    report["pass"] = verdict(report)
    print(table(report))
    reporting.save_json(report, args.json)
    return 0 if report["pass"] else 1
