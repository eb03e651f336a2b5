"""`vaidya-bench consults`: N concurrent consultations over an emulated link, measured as a clinician sees them.

Each consultation is a patient and a doctor (plus, with `--third-party`, a hub specialist) in their own
room (`bench.clients`; spread over `--workers` processes, `bench.worker`): real aiortc clients that
publish pre-encoded stamped video and marked Opus sized for their role's link (`MediaPlan`) and receive
each other, or, for a role given to `--browser`, the room page in headless Chromium whose fake camera
and microphone play the same stamped source (`bench.browser_participant`). Each role has its own link (`--profile doctor=lan,patient=2g`, `bench.role_links`), which a
`--schedule` may change during the window; every client on a shaped link gets its own link in the
shaping relay (its own process), in both directions. The server is started as its own process
(`vaidya serve` on a free port, adaptation on or off: `--adapt`; `both` runs the same load twice, the
forwarding-only run first as the baseline) unless `--url` names a running one. After the last
consultation has joined, one window of `--seconds` is measured; the report aggregates every received
stream, per receiving role too, and names the shaper and what it measured the links to be.
`bench.capacity` reuses `Consults` to ramp.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import psutil

from bench import report as reporting
from bench.clients import ClientGroup, consult_room, role_plans
from bench.forward import add_server_workers_argument
from bench.members import CHROMIUM_KIND
from bench.profiles import ProfileError
from bench.role_links import RoleLinks, parse_role_links, roles
from bench.shaper_process import ShaperProcess
from bench.worker import WorkerError, WorkerGroup

BROWSER_ROLES = roles(third_party=True)
GENERATOR_SATURATED_PCT = 90.0
GENERATOR_LAG_LIMIT_MS = 25.0
"""A generator whose event loop wakes this late (p95) cannot time what it receives."""
MACHINE_SATURATED_SHARE = 0.9
"""When the whole machine is this busy, every process waits for a CPU: limits found are the machine's."""
"""One Python process cannot use more than one core; near it, the generator's own numbers are suspect."""


class Server:
    """The server under test: our own `vaidya serve` process, or a running one at `--url`."""

    def __init__(self, url: str | None, secret: str | None, adaptive: bool | None = None,
                 fec: bool | None = None, log_path: str | None = None, workers: int = 0,
                 serve_args: tuple[str, ...] = ()) -> None:
        """`adaptive`: run our server with adaptation on or off (`VAIDYA_ADAPTIVE`), `fec`: with its video
        FEC for weak links on or off (`VAIDYA_FEC`); None: its default. `log_path`: keep its log there.
        `workers`: its worker processes (`--server-workers`); `serve_args`: more `vaidya serve` options."""
        self._own = None
        self.workers = workers if url is None else None
        """Our server's worker processes (0: rooms in its own process); None for a server at `--url`."""
        if url is None:
            from bench.forward import ServerUnderTest

            self.secret = secrets.token_urlsafe(32)
            env = {} if adaptive is None else {"VAIDYA_ADAPTIVE": "1" if adaptive else "0"}
            if fec is not None:
                env["VAIDYA_FEC"] = "1" if fec else "0"
            self._own = ServerUnderTest("vaidya", self.secret, log_path, env=env, workers=workers,
                                        serve_args=serve_args)
            self.url = self._own.ws_url
        else:
            if not secret:
                raise ValueError("--url needs the server's token secret: --secret or VAIDYA_SECRET")
            self.url, self.secret = url, secret

    async def ready(self) -> None:
        if self._own is not None:
            await self._own.ready()

    def cpu_seconds(self) -> float | None:
        return self._own.cpu_seconds() if self._own else None

    @property
    def own(self) -> Any:
        """Our `bench.forward.ServerUnderTest` (its processes and data dir), or None for a server at `--url`."""
        return self._own

    @property
    def http_url(self) -> str:
        """The server's HTTP root (no trailing slash): its portal and /metrics."""
        return self.url.replace("ws://", "http://").replace("wss://", "https://").rsplit("/ws", 1)[0]

    def worker_cpu_seconds(self) -> dict[int, float]:
        """Each of our server's worker processes' CPU so far (pid → seconds); empty without workers."""
        return self._own.worker_cpu_seconds() if self._own else {}

    async def forwarded_packets(self) -> float | None:
        """The server's own count of packets forwarded to subscribers (its /metrics), if it serves it
        to us: /metrics answers loopback clients only."""
        url = self.http_url + "/metrics"
        try:
            async with aiohttp.ClientSession() as http, http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                if r.status != 200:
                    return None
                text = await r.text()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None
        for line in text.splitlines():
            if line.startswith("vaidya_packets_forwarded_total "):
                return float(line.split()[1])
        return None

    def rss_mb(self) -> float | None:
        return round(self._own.rss_mb(), 1) if self._own else None

    def stop(self) -> None:
        if self._own is not None:
            self._own.stop()


def progress(text: str) -> None:
    """One live status line on stderr."""
    sys.stderr.write(f"\r\x1b[2K{text}")
    sys.stderr.flush()


def _bar(done: float, total: float, width: int = 30) -> str:
    filled = int(width * min(1.0, done / total)) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _cpu_pct(before: float | None, after: float | None, wall: float) -> float | None:
    if before is None or after is None or wall <= 0:
        return None
    return round(100 * (after - before) / wall, 1)


def worker_cpu_share_max(before: dict[int, float], after: dict[int, float], server_seconds: float | None) -> float | None:
    """The busiest worker process's share of the server's CPU (front and workers) between two samples;
    None without workers. A worker restarted in between counts from zero."""
    if not after or not server_seconds or server_seconds <= 0:
        return None
    return round(max(after[pid] - before.get(pid, 0.0) for pid in after) / server_seconds, 3)


def _machine_load(cpu0: dict[str, Any], cpu1: dict[str, Any], wall: float, ours: list[float | None]) -> dict[str, Any]:
    """How busy the whole machine was, and how much of that was not this run (other work skews every number)."""
    busy = _cpu_pct(cpu0["machine_busy"], cpu1["machine_busy"], wall) or 0.0
    cpus = os.cpu_count() or 1
    return {
        "cpus": cpus,
        "busy_pct": busy,
        "saturated": busy >= MACHINE_SATURATED_SHARE * cpus * 100,
        "others_pct": round(max(0.0, busy - sum(x or 0.0 for x in ours)), 1),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def _role_points(ticks: list[dict[str, Any]], frames_last: dict[str, int], interval: float) -> dict[str, Any]:
    """One timeline point per receiving role: fps per stream and g2g p50 since the last point.
    Updates `frames_last` (role → frames decoded at the last point)."""
    roles: dict[str, dict[str, Any]] = {}
    for tick in ticks:
        for role, entry in tick["roles"].items():
            merged = roles.setdefault(role, {"frames": 0, "streams": 0, "latencies": []})
            merged["frames"] += entry["frames"]
            merged["streams"] += entry["streams"]
            merged["latencies"] += entry["latencies"]
    points = {}
    for role, entry in roles.items():
        fresh = entry["latencies"]
        points[role] = {
            "fps": round((entry["frames"] - frames_last.get(role, 0)) / interval / entry["streams"], 2)
            if entry["streams"] and interval > 0 else 0.0,
            "g2g_ms_p50": float(np.percentile(fresh, 50)) if fresh else None,
        }
        frames_last[role] = entry["frames"]
    return points


class Consults:
    """The synthetic consultations against one server, spread over client groups, measured in windows.

    With `workers` = 1 the clients run in this process; with K > 1 in K worker processes
    (`bench.worker`), consultation i going to worker i mod K, except that with `light` the probes run in
    this process, alone, and the light ones round the workers. The shaper process is shared by all.
    With `light`, every consultation after the first `probes` is light (`bench.light_participant`):
    the probes measure the picture, every client measures loss.
    """

    def __init__(
        self, server: Server, links: RoleLinks, third_party: bool = False, workers: int = 1,
        kinds: dict[str, str] | None = None, light: bool = False, probes: int = 2,
    ) -> None:
        """`kinds`: role → the kind of client playing it in full consultations (`bench.members.MEMBER_KINDS`;
        default aiortc)."""
        self.light, self.probes = light, probes
        self.server, self.links, self.third_party = server, links, third_party
        self.plans = role_plans(links)
        self.shaper = ShaperProcess() if links.any_shaped else None
        self.groups: list[Any] = []
        self.browsers = sorted(role for role, kind in (kinds or {}).items() if kind == CHROMIUM_KIND)
        if workers <= 1:
            self.groups.append(ClientGroup(server.url, server.secret, links, third_party, self.shaper, kinds))
        else:
            config = {"url": server.url, "secret": server.secret, "links": links.to_dict(), "kinds": kinds,
                      "third_party": third_party, "shaper": self.shaper.control_path if self.shaper else None}
            self.groups += [WorkerGroup(config) for _ in range(workers)]
        self._probe_group: ClientGroup | None = None
        if light and workers > 1:  # the probes measure the server, not the light clients' share of a process
            self._probe_group = ClientGroup(server.url, server.secret, links, third_party, self.shaper, kinds)
            self.groups.append(self._probe_group)
        self.workers = workers
        self.count = 0
        self.failures: list[str] = []
        self._me = psutil.Process()

    async def add(self, count: int, ramp: float | None = None) -> None:
        """Join `count` more consultations, `ramp` per second (default: one after another)."""
        started = time.monotonic()
        for i in range(count):
            try:
                await self._group_for(self.count).add_consult(self.count, self.is_light(self.count))
            except WorkerError as exc:
                self.failures.append(f"consult {self.count}: {exc}")
            self.count += 1
            progress(f"joining {_bar(i + 1, count)} {self.count} consults")
            if ramp:
                await asyncio.sleep(max(0.0, started + (i + 1) / ramp - time.monotonic()))

    async def remove(self, index: int) -> list[Any]:
        """Consultation `index` leaves: its members hang up (the soak's churn; clients in this process only).
        Returns its members (`bench.members.Member`), whose join times stay readable."""
        group = self._group_for(index)
        if not isinstance(group, ClientGroup):
            raise ValueError("consultations leave only from clients in this process (--workers 1)")
        return await group.remove_consult(index)

    def members(self, index: int) -> list[Any]:
        """Consultation `index`'s members (`bench.members.Member`; clients in this process only)."""
        group = self._group_for(index)
        if not isinstance(group, ClientGroup):
            raise ValueError("members are readable only for clients in this process (--workers 1)")
        return [p for p in group.participants if p.room == consult_room(index)]

    def _group_for(self, index: int) -> Any:
        """Consultation i goes to group i mod K; with light workers, the probes to this process's own group
        and the light ones round the workers."""
        if self._probe_group is None:
            return self.groups[index % len(self.groups)]
        if not self.is_light(index):
            return self._probe_group
        return self.groups[(index - self.probes) % self.workers]

    def is_light(self, index: int) -> bool:
        """Whether consultation `index` is light: with `light`, all but the first `probes`."""
        return self.light and index >= self.probes

    def counts(self) -> dict[str, int]:
        """How many of the consultations so far are light and how many measure fully (the probes)."""
        light = sum(1 for i in range(self.count) if self.is_light(i))
        return {"light_consults": light, "probe_consults": self.count - light}

    async def settle(self) -> None:
        """Wait until everyone sees everyone else's video (bounded): start-up is judged by join time."""
        await asyncio.gather(*(group.settle() for group in self.groups))

    def _cpu(self) -> dict[str, Any]:
        times = self._me.cpu_times()
        machine = psutil.cpu_times()
        return {
            "machine_busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
            "server": self.server.cpu_seconds(),
            "server_workers": self.server.worker_cpu_seconds(),
            "generator": [times.user + times.system]
            + [g.cpu_seconds() for g in self.groups if isinstance(g, WorkerGroup)],
            "shaper": self.shaper.cpu_seconds() if self.shaper else None,
            "browser": sum(g.kinds_cpu_seconds() for g in self.groups if isinstance(g, ClientGroup)),
        }

    async def measure(self, seconds: float) -> dict[str, Any]:
        """Measure one window of `seconds` from now and return its report."""
        await asyncio.gather(*(group.open_window() for group in self.groups))
        window_start = time.time()
        forwarded0 = await self.server.forwarded_packets()
        cpu0 = cpu_last = self._cpu()
        t0 = last = time.monotonic()
        timeline: list[dict[str, Any]] = []
        frames_last = 0
        role_frames_last: dict[str, int] = {}
        while (elapsed := time.monotonic() - t0) < seconds:
            await asyncio.sleep(min(1.0, seconds - elapsed))
            ticks = await asyncio.gather(*(group.tick() for group in self.groups))
            now, cpu = time.monotonic(), self._cpu()
            fresh = [ms for tick in ticks for ms in tick["latencies"]]
            frames, streams = sum(t["frames"] for t in ticks), sum(t["streams"] for t in ticks)
            timeline.append({
                "t": round(now - t0, 2),
                "g2g_ms_p50": float(np.percentile(fresh, 50)) if fresh else None,
                "g2g_ms_p95": float(np.percentile(fresh, 95)) if fresh else None,
                "fps": round((frames - frames_last) / (now - last) / streams, 2) if streams else 0.0,
                "server_cpu_pct": _cpu_pct(cpu_last["server"], cpu["server"], now - last),
                "generator_cpu_pct": _cpu_pct(sum(cpu_last["generator"]), sum(cpu["generator"]), now - last),
                "by_role": _role_points(ticks, role_frames_last, now - last),
            })
            frames_last, cpu_last, last = frames, cpu, now
            progress(f"measuring {_bar(now - t0, seconds)} {now - t0:4.0f}/{seconds:g} s, "
                     f"{self.count} consults, {frames} frames")
        wall = time.monotonic() - t0
        cpu1 = self._cpu()
        forwarded1 = await self.server.forwarded_packets()
        results = await asyncio.gather(*(group.close_window() for group in self.groups))
        progress("")
        summaries = [s for r in results for s in r["summaries"]]
        rtp = [x for r in results for x in r["rtp"]]
        metrics = reporting.media_metrics(summaries, wall, rtp)
        light = [s.get("client") == "light" for s in summaries]
        changes = [c for r in results for c in r["link_changes"]]
        roles_report = reporting.by_role(summaries, rtp, wall, changes)
        for role, data in roles_report.items():
            data["link"] = self.links.describe(role)
            data["media"] = self.plans[role].describe()
        per_process = [_cpu_pct(a, b, wall) or 0.0 for a, b in zip(cpu0["generator"], cpu1["generator"])]
        server_cpu = _cpu_pct(cpu0["server"], cpu1["server"], wall)
        server_seconds = None if cpu0["server"] is None or cpu1["server"] is None else cpu1["server"] - cpu0["server"]
        links = [link for r in results for link in r["links"]]
        lags = [r["loop_lag_ms"]["p95"] for r in results if r["loop_lag_ms"]["p95"] is not None]
        lag = round(max(lags), 1) if lags else None
        shaper_cpu = _cpu_pct(cpu0["shaper"], cpu1["shaper"], wall)
        browser_cpu = _cpu_pct(cpu0["browser"], cpu1["browser"], wall) if self.browsers else None
        return {
            "consults": self.count,
            **self.counts(),
            "participants": len(summaries),
            "third_party": self.third_party,
            "browser": self.browsers,
            "seconds": round(wall, 1),
            "profile": self.links.describe(),
            "link": self.links.profiles["patient"].to_dict() if self.links.uniform else None,
            "schedule": {role: self.links.describe(role) for role in self.links.schedules},
            "media": self.media(),
            **metrics,
            "loss_pct_by_client": {
                name: reporting.loss_pct([x for x, is_light in zip(rtp, light) if is_light == want])
                for name, want in (("light", True), ("probe", False)) if want in light},
            "by_role": roles_report,
            "link_changes": [{**c, "t": round(c["t"] - window_start, 2)} for c in changes],
            "server_cpu_pct": server_cpu,
            "server_rss_mb": self.server.rss_mb(),
            "server_workers": self.server.workers,
            "worker_cpu_share_max": worker_cpu_share_max(cpu0["server_workers"], cpu1["server_workers"],
                                                         server_seconds),
            "server_forwarded_pps": (round((forwarded1 - forwarded0) / wall, 1)
                                     if forwarded0 is not None and forwarded1 is not None else None),
            "machine": _machine_load(cpu0, cpu1, wall, [server_cpu, sum(per_process), shaper_cpu, browser_cpu]),
            "browser_cpu_pct": browser_cpu,
            "workers": self.workers,
            "generator_cpu_pct": round(sum(per_process), 1),
            "generator_cpu_pct_per_process": per_process,
            "generator_loop_lag_ms_p95": lag,
            "generator_saturated": max(per_process, default=0.0) >= GENERATOR_SATURATED_PCT
            or (lag is not None and lag > GENERATOR_LAG_LIMIT_MS),
            "shaper": (reporting.shaper_report(self.shaper, links, shaper_cpu) if self.shaper
                       else {"name": "none", "reason": f"profile {self.links.describe()!r} needs no shaping"}),
            "failures": self.failures + [f for r in results for f in r["failures"]] + metrics["failures"],
            "timeline": timeline,
            "streams": summaries,
        }

    def media(self) -> str:
        """What the clients send: one plan, or each role's."""
        described = {role: plan.describe() for role, plan in self.plans.items()}
        if len(set(described.values())) == 1:
            return next(iter(described.values()))
        return "; ".join(f"{role}: {text}" for role, text in described.items())

    async def close(self) -> None:
        await asyncio.gather(*(group.close() for group in self.groups), return_exceptions=True)
        if self.shaper is not None:
            self.shaper.close()


@contextlib.contextmanager
def loopback_candidates() -> Iterator[None]:
    """Clients gather ICE candidates on 127.0.0.1 only, for the duration of a run (then as before)."""
    import aioice.ice

    from media.sfu.aiortc_bridge import compact_rate_windows, restrict_host_addresses, wait_longer_for_consent

    original = aioice.ice.get_host_addresses
    restrict_host_addresses(["127.0.0.1"])
    wait_longer_for_consent()  # the clients' own checks cross the same slow links
    compact_rate_windows()
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original


ADAPT_MODES = ("on", "off", "both")


def role_links(args: argparse.Namespace) -> RoleLinks:
    """Each role's link and schedule, as `--profile` and `--schedule` ask (raises ProfileError)."""
    schedules = getattr(args, "schedule", None) or []
    return parse_role_links(args.profile, schedules, args.third_party, args.seconds if schedules else None)


def adapt_runs(args: argparse.Namespace) -> list[bool | None]:
    """Adaptation setting of each run, in order: `both` runs the baseline (off) first. None: a server
    at `--url`, whose setting is its own."""
    if args.url is not None:
        return [None]
    return {"on": [True], "off": [False], "both": [False, True]}[getattr(args, "adapt", None) or "on"]


def member_kinds(args: argparse.Namespace) -> dict[str, str]:
    """Role → the kind of client that plays it (`bench.members.MEMBER_KINDS`): Chromium for each
    `--browser ROLE`, aiortc for the others."""
    return {role: CHROMIUM_KIND for role in getattr(args, "browser", None) or ()}


async def start(args: argparse.Namespace, adaptive: bool | None = None,
                serve_args: tuple[str, ...] = ()) -> tuple[Server, Consults]:
    """The server (ready) and an empty set of consultations, as the arguments ask; `serve_args`: more
    `vaidya serve` options for a server this run starts."""
    links = role_links(args)
    fec = getattr(args, "fec", None)
    server = Server(args.url, args.secret or os.environ.get("VAIDYA_SECRET"), adaptive,
                    None if fec is None else fec == "on", getattr(args, "server_log", None), args.server_workers,
                    serve_args)
    try:
        await server.ready()
        return server, Consults(server, links, args.third_party, args.workers, member_kinds(args),
                                getattr(args, "light", False), getattr(args, "probes", 2))
    except BaseException:
        server.stop()
        raise


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with loopback_candidates():
        runs = adapt_runs(args)
        reports = []
        for adaptive in runs:
            if len(runs) > 1:
                progress("")
                print(f"adaptation {'on' if adaptive else 'off (baseline)'}:", file=sys.stderr)
            reports.append(await _run(args, adaptive))
    return reporting.with_baseline(reports[-1], reports[0]) if len(reports) > 1 else reports[0]


async def _run(args: argparse.Namespace, adaptive: bool | None) -> dict[str, Any]:
    server, consults = await start(args, adaptive)
    try:
        await consults.add(args.consults, args.ramp)
        await consults.settle()
        report = await consults.measure(args.seconds)
    finally:
        await consults.close()
        server.stop()
    report["machine"]["python"] = sys.version.split()[0]
    adapt = None if adaptive is None else ("on" if adaptive else "off")
    return {"command": "vaidya-bench " + " ".join(sys.argv[1:]), "adapt": adapt, "fec": getattr(args, "fec", None),
            **report}


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="lan",
                   help="every role's link: lan, 4g, 3g, 2g, edge-bad or a spec like rate=150k,delay=300ms,loss=2%%; "
                        "or per role: doctor=lan,patient=2g[,hub=4g] (roles not named are on lan)")
    p.add_argument("--third-party", action="store_true", help="add a hub specialist to every consultation")
    p.add_argument("--url", default=None, help="a running server's WebSocket URL (default: start `vaidya serve`)")
    p.add_argument("--secret", default=None, help="with --url: the server's token secret (or VAIDYA_SECRET)")
    p.add_argument("--workers", type=int, default=1, help="spread the synthetic clients over K processes (default 1)")
    p.add_argument("--json", default=None, help="write the report to this file")
    p.add_argument("--light", action="store_true",
                   help="light clients for all consultations but --probes: they publish the same media and only "
                        "count the RTP they receive (loss): about a quarter of a full client's cost to the generator")
    p.add_argument("--probes", type=int, default=2, metavar="K",
                   help="with --light: the first K consultations measure fully (g2g, fps, PSNR, freezes) (default 2)")
    add_server_workers_argument(p)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consults", help="N concurrent consultations over an emulated link, measured end to end")
    p.add_argument("--consults", type=int, default=2, help="concurrent consultations (default 2)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured time after the last one joined (default 20)")
    p.add_argument("--ramp", type=float, default=None, help="consultations joined per second (default: one after another)")
    p.add_argument("--plot", default=None, help="write latency, fps and CPU over time to this PNG")
    p.add_argument("--schedule", action="append", default=None, metavar="[ROLE=]SECONDS:PROFILE,...",
                   help="change a role's link during the measured window, e.g. 0:3g,20:2g,40:3g (seconds from the "
                        "window's start; bare: the patient; ROLE= for another, repeatable)")
    p.add_argument("--adapt", choices=ADAPT_MODES, default=None,
                   help="the server's adaptation (VAIDYA_ADAPTIVE): on (default), off (forwarding only), or both: "
                        "the same load twice, off first, reported under `baseline`")
    p.add_argument("--fec", choices=("on", "off"), default=None,
                   help="with adaptation: the server's video FEC (RED + ULPFEC) for subscribers on long, lossy round trips "
                        "(VAIDYA_FEC); default: the server's own (on)")
    p.add_argument("--server-log", metavar="FILE", default=None,
                   help="keep the log of the server this run starts in FILE (with --adapt both: the last run's)")
    p.add_argument("--browser", action="append", choices=BROWSER_ROLES, default=None, metavar="ROLE",
                   help="play this role (patient, doctor or hub) on the room page in headless Chromium, behind the role's "
                        "link and schedule; repeatable")
    add_common_arguments(p)
    p.set_defaults(func=main_consults)


def check_arguments(args: argparse.Namespace) -> str | None:
    """The first problem with the arguments, or None."""
    try:
        role_links(args)
    except ProfileError as exc:
        return str(exc)
    if args.url is not None and not (args.secret or os.environ.get("VAIDYA_SECRET")):
        return "--url needs the server's token secret: --secret or VAIDYA_SECRET"
    if args.url is not None and getattr(args, "adapt", None) is not None:
        return "--adapt needs a server this run starts (a server at --url adapts as it was configured)"
    if args.url is not None and getattr(args, "fec", None) is not None:
        return "--fec needs a server this run starts (a server at --url protects as it was configured)"
    if args.workers < 1:
        return "--workers must be >= 1"
    if args.probes < 1:
        return "--probes must be >= 1: quality is judged on the probes"
    if args.probes != 2 and not args.light:
        return "--probes needs --light"
    if getattr(args, "browser", None) and args.workers > 1:
        return "--browser runs Chromium from the coordinating process: use --workers 1"
    if "hub" in (getattr(args, "browser", None) or ()) and not args.third_party:
        return "--browser hub needs --third-party"
    return None


def write_json(report: dict[str, Any], path: str | None) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)


def main_consults(args: argparse.Namespace) -> int:
    problem = check_arguments(args) or (
        "--consults must be >= 1 and --seconds > 0" if args.consults < 1 or args.seconds <= 0 else None
    )
    if problem:
        print(f"vaidya-bench consults: {problem}", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    print(reporting.table(report))
    write_json(report, args.json)
    if args.plot:
        reporting.plot(report, args.plot)
    return 1 if report["failures"] else 0
