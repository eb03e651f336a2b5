"""`vaidya-bench forward`: what forwarding costs the server, per packet delivered to one subscriber.

P publishers each send pre-encoded VP8 + Opus (nothing is encoded while measuring), S subscribers
per publisher count packets without depacketizing or decoding. The server runs in its own process;
its CPU time over the measured window divided by the packets delivered gives µs per packet-hop.
The same scenario then runs against aiortc's stock relay path (decode + re-encode) as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.report import save_json
from media.sfu.aiortc_bridge import intercept_rtp_data, restrict_host_addresses, send_directly
from signaling.client import SignalingClient
from signaling.grants import mint_token

LOSS_LIMIT_PCT = 0.1
SATURATED_CPU_PCT = 95.0
JOIN_CONCURRENCY = 4


@dataclass
class StreamCount:
    """Packets of one stream at one subscriber, and the highest extended sequence number seen."""

    received: int = 0
    highest: int | None = None
    first: int | None = None

    def add(self, seq: int) -> None:
        self.received += 1
        if self.highest is None:
            self.highest = self.first = seq
            return
        base = self.highest & ~0xFFFF
        ext = base | seq
        if ext < self.highest - 0x8000:
            ext += 0x10000
        elif ext > self.highest + 0x8000:
            ext -= 0x10000
        if ext > self.highest:
            self.highest = ext


@dataclass
class Sample:
    received: int
    expected: int


class PacketSink:
    """Counts every RTP datagram arriving on one subscribe connection, per SSRC, from the raw header:
    no parsing, depacketizing or decoding, so the load generator stays cheaper than the server."""

    def __init__(self) -> None:
        self.streams: dict[int, StreamCount] = {}
        self._attached = False

    def attach(self, pc: Any) -> None:
        @pc.on("track")
        def on_track(track: Any) -> None:
            if not self._attached:
                self._attached = True
                intercept_rtp_data(pc.getTransceivers()[0].receiver.transport, self._count)

    def _count(self, data: bytes, arrival_time_ms: int) -> None:
        ssrc = int.from_bytes(data[8:12], "big")
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamCount()
        stream.add((data[2] << 8) | data[3])

    def sample(self) -> Sample:
        received = sum(s.received for s in self.streams.values())
        expected = sum(s.highest - s.first + 1 for s in self.streams.values() if s.highest is not None)
        return Sample(received, expected)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerUnderTest:
    """A server in its own process: ours (`vaidya serve`) or the stock-relay baseline."""

    def __init__(self, kind: str, secret: str, log_path: str | None = None, env: dict[str, str] | None = None,
                 workers: int = 0, serve_args: tuple[str, ...] = ()) -> None:
        """`env`: extra environment for the server (its `VAIDYA_*` configuration, e.g. `VAIDYA_ADAPTIVE`);
        `workers`: our server's worker processes (0: rooms in the server's own process, as recorded so far);
        `serve_args`: more `vaidya serve` options (the soak's `--dev --seed-demo` for portal traffic)."""
        self.kind = kind
        self.port = _free_port()
        self._data = tempfile.TemporaryDirectory(prefix="vaidya-bench-")
        # A burst of joins can stall the load generator's event loop for seconds; the server under test
        # must not mistake that for dead clients, so its liveness timeout is raised for the benchmark.
        env = {**os.environ, "VAIDYA_SECRET": secret, "VAIDYA_PEER_TIMEOUT_S": "30", "VAIDYA_SMS_LOG_OTPS": "1", "VAIDYA_WORKERS": str(workers),
               **(env or {})}
        if kind == "vaidya":
            args = [sys.executable, "-m", "signaling.cli", "serve", "--port", str(self.port), "--data-dir", self._data.name,
                    *serve_args]
        else:
            args = [sys.executable, "-m", "bench.baseline_relay", "--port", str(self.port)]
        # The server's log goes to a file: an unread pipe fills up and stalls the server mid-run.
        self.log = open(log_path or os.path.join(self._data.name, "server.log"), "w+")
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=self.log, text=True)
        self.ps = psutil.Process(self.proc.pid)

    async def ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.kind} server did not start")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def data_dir(self) -> str:
        return self._data.name

    def processes(self) -> list[psutil.Process]:
        """The server's process and its worker processes (`--workers N`), as they are now."""
        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.Error:
            return [self.ps]

    def cpu_seconds(self) -> float:
        """The server's CPU, its worker processes' (`--workers N`) included."""
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def worker_cpu_seconds(self) -> dict[int, float]:
        """Each worker process's CPU so far (pid → seconds); empty when rooms run in the server's own process."""
        seconds = {}
        for process in self.ps.children():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seconds[process.pid] = times.user + times.system
        return seconds

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes."""
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def log_tail(self, size: int = 4000) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-size:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self._data.cleanup()


@dataclass
class Load:
    """The synthetic participants of one run."""

    secret: str
    server: ServerUnderTest
    width: int
    height: int
    fps: int
    video_bitrate: int
    clients: list[SignalingClient] = field(default_factory=list)
    sinks: list[PacketSink] = field(default_factory=list)

    def prepare(self) -> None:
        """Encode the media loops now: encoding inside a run would stall the clients' event loop."""
        from bench import audio_marks, video_source

        video_source.encode_loop(self.width, self.height, self.fps, self.video_bitrate)
        audio_marks.encode_loop()

    async def add_publisher(self, index: int, subscribers: int) -> None:
        from bench.audio_marks import PreencodedAudioTrack
        from bench.video_source import PreencodedVideoTrack

        room = f"fwd-{index}"
        client = await SignalingClient(self.server.ws_url).connect()
        self.clients.append(client)
        peer = await client.join(room, mint_token(self.secret, room=room, identity=f"pub-{index}", role="patient"))
        video = PreencodedVideoTrack(self.width, self.height, self.fps, self.video_bitrate)
        await peer.publish(video, PreencodedAudioTrack())
        send_directly(peer.publish_pc.getTransceivers()[0].sender.transport)
        await asyncio.sleep(0.5)  # the baseline needs the publisher's tracks before subscribers join
        for s in range(subscribers):
            sub = await SignalingClient(self.server.ws_url).connect()
            self.clients.append(sub)
            sink = PacketSink()
            self.sinks.append(sink)
            token = mint_token(self.secret, room=room, identity=f"sub-{index}-{s}", role="doctor")
            await sub.join(room, token, configure_subscribe_pc=sink.attach)

    def sample(self) -> Sample:
        samples = [sink.sample() for sink in self.sinks]
        return Sample(sum(s.received for s in samples), sum(s.expected for s in samples))

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


async def _wait_flowing(load: Load, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(sink.streams) >= 2 for sink in load.sinks):
            return True
        await asyncio.sleep(0.2)
    return False


async def measure_window(load: Load, seconds: float) -> dict[str, Any]:
    """Counters over one window: server and generator CPU, packet-hops and loss."""
    me = psutil.Process()
    start = load.sample()
    server_cpu0, my_cpu0, t0 = load.server.cpu_seconds(), sum(me.cpu_times()[:2]), time.monotonic()
    await asyncio.sleep(seconds)
    end = load.sample()
    server_cpu, my_cpu, wall = load.server.cpu_seconds() - server_cpu0, sum(me.cpu_times()[:2]) - my_cpu0, time.monotonic() - t0
    hops = end.received - start.received
    expected = end.expected - start.expected
    loss = max(0.0, 100.0 * (expected - hops) / expected) if expected > 0 else 100.0
    return {
        "seconds": round(wall, 2),
        "packet_hops": hops,
        "packet_hops_per_s": round(hops / wall, 1),
        "loss_pct": round(loss, 3),
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        "cpu_us_per_packet_hop": round(1e6 * server_cpu / hops, 1) if hops else None,
        "server_rss_mb": round(load.server.rss_mb(), 1),
        "generator_cpu_pct": round(100 * my_cpu / wall, 1),
    }


async def run_scenario(kind: str, publishers: int, subscribers: int, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    secret = secrets.token_urlsafe(32)
    server = ServerUnderTest(kind, secret, workers=args.server_workers if kind == "vaidya" else 0)
    load = Load(secret, server, args.width, args.height, args.fps, args.bitrate)
    try:
        load.prepare()
        await server.ready()
        await asyncio.gather(*(load.add_publisher(p, subscribers) for p in range(publishers)))
        flowing = await _wait_flowing(load, 20)
        await asyncio.sleep(args.warmup)
        result = await measure_window(load, seconds)
        result.update({"server": kind, "publishers": publishers, "subscribers": subscribers, "all_streams_flowing": flowing})
        return result
    finally:
        await load.close()
        server.stop()


async def run_ramp(args: argparse.Namespace) -> dict[str, Any]:
    """Add publishers (each with S subscribers) until loss passes 0.1 % or the server's core saturates."""
    secret = secrets.token_urlsafe(32)
    server = ServerUnderTest("vaidya", secret, args.server_log, workers=args.server_workers)
    load = Load(secret, server, args.width, args.height, args.fps, args.bitrate)
    steps: list[dict[str, Any]] = []
    try:
        load.prepare()
        await server.ready()
        publishers = 0
        while publishers < args.max_publishers:
            batch = range(publishers, min(publishers + args.step, args.max_publishers))
            for first in range(batch.start, batch.stop, JOIN_CONCURRENCY):
                group = range(first, min(first + JOIN_CONCURRENCY, batch.stop))
                await asyncio.gather(*(load.add_publisher(i, args.subscribers) for i in group))
            publishers = batch.stop
            await _wait_flowing(load, 15)
            await asyncio.sleep(args.warmup)
            step = await measure_window(load, args.seconds)
            step["publishers"] = publishers
            steps.append(step)
            _progress(f"ramp: {publishers} publishers × {args.subscribers}: {step['packet_hops_per_s']} hops/s, "
                      f"server {step['server_cpu_pct']} %, loss {step['loss_pct']} %, generator {step['generator_cpu_pct']} %")
            if step["loss_pct"] > LOSS_LIMIT_PCT or step["server_cpu_pct"] >= SATURATED_CPU_PCT:
                break
            if step["generator_cpu_pct"] >= SATURATED_CPU_PCT:
                _progress("ramp: the load generator is saturated; stopping before it distorts the result")
                break
    finally:
        await load.close()
        server.stop()
    good = [s for s in steps if s["loss_pct"] <= LOSS_LIMIT_PCT and s["server_cpu_pct"] > 0]
    # The most loaded step that still met the loss limit: per-core figures from light steps flatter,
    # since each wake-up then serves fewer packets.
    best = max(good, key=lambda s: s["packet_hops_per_s"], default=None)
    return {
        "steps": steps,
        "max_packet_hops_per_core_s": round(best["packet_hops_per_s"] / (best["server_cpu_pct"] / 100)) if best else None,
        "max_packet_hops_per_s_sustained": max((s["packet_hops_per_s"] for s in good), default=None),
        "stopped_because": _stop_reason(steps),
    }


def _stop_reason(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return "no steps"
    last = steps[-1]
    if last["loss_pct"] > LOSS_LIMIT_PCT:
        return f"loss {last['loss_pct']} % > {LOSS_LIMIT_PCT} %"
    if last["server_cpu_pct"] >= SATURATED_CPU_PCT:
        return f"server core saturated ({last['server_cpu_pct']} %)"
    if last["generator_cpu_pct"] >= SATURATED_CPU_PCT:
        return "load generator saturated"
    return "reached --max-publishers"


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["cpu_us_per_packet_hop"] or float("inf"))
    return ordered[len(ordered) // 2]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    restrict_host_addresses(["127.0.0.1"])
    report: dict[str, Any] = {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "media": {"video": f"VP8 {args.width}x{args.height} {args.fps} fps {args.bitrate // 1000} kbit/s pre-encoded",
                  "audio": "Opus 20 ms pre-encoded"},
    }
    if args.ramp:
        report.update(await run_ramp(args))
        return report
    ours, baseline = [], []
    for i in range(args.repeat):
        _progress(f"run {i + 1}/{args.repeat}: vaidya, {args.publishers} × {args.subscribers}")
        ours.append(await run_scenario("vaidya", args.publishers, args.subscribers, args.seconds, args))
        if not args.no_baseline:
            _progress(f"run {i + 1}/{args.repeat}: aiortc MediaRelay baseline")
            baseline.append(await run_scenario("baseline", args.publishers, args.subscribers, args.seconds, args))
    median = _median_run(ours)
    report.update({
        "publishers": args.publishers,
        "subscribers": args.subscribers,
        "cpu_us_per_packet_hop": median["cpu_us_per_packet_hop"],
        "cpu_us_per_packet_hop_runs": [r["cpu_us_per_packet_hop"] for r in ours],
        "packet_hops": median["packet_hops"],
        "packet_hops_per_s": median["packet_hops_per_s"],
        "loss_pct": median["loss_pct"],
        "server_cpu_pct": median["server_cpu_pct"],
        "server_rss_mb": median["server_rss_mb"],
        "generator_cpu_pct": median["generator_cpu_pct"],
        "runs": ours,
    })
    if baseline:
        base = _median_run(baseline)
        report.update({
            "baseline": "aiortc MediaRelay (decode + re-encode per subscriber)",
            "baseline_cpu_us_per_packet_hop": base["cpu_us_per_packet_hop"],
            "baseline_cpu_us_per_packet_hop_runs": [r["cpu_us_per_packet_hop"] for r in baseline],
            "baseline_loss_pct": base["loss_pct"],
            "baseline_server_rss_mb": base["server_rss_mb"],
            "baseline_runs": baseline,
        })
        if base["cpu_us_per_packet_hop"] and median["cpu_us_per_packet_hop"]:
            report["speedup_vs_baseline"] = round(base["cpu_us_per_packet_hop"] / median["cpu_us_per_packet_hop"], 1)
    return report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forward", help="server CPU per forwarded packet-hop, against aiortc's stock relay")
    p.add_argument("--publishers", type=int, default=4, help="publishers, each in its own room (default 4)")
    p.add_argument("--subscribers", type=int, default=4, help="subscribers per publisher (default 4)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured window per run (default 20)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of flow before measuring (default 3)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each server; the median is reported (default 1)")
    p.add_argument("--no-baseline", action="store_true", help="skip the aiortc MediaRelay baseline")
    p.add_argument("--ramp", action="store_true",
                   help="add publishers until loss > 0.1 %% or the server core saturates; report max packet-hops/s per core")
    p.add_argument("--max-publishers", type=int, default=200, help="upper bound for --ramp (default 200)")
    p.add_argument("--step", type=int, default=4, help="publishers added per --ramp step (default 4)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--bitrate", type=int, default=500_000, help="video bit/s of the pre-encoded loop (default 500000)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--server-log", metavar="FILE", help="keep the (ramp) server's log in FILE")
    add_server_workers_argument(p)
    p.set_defaults(func=main_forward)


def add_server_workers_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server-workers", type=int, default=0, metavar="N",
                   help="our server's worker processes (`vaidya serve --workers N`; default 0: rooms in one process); "
                        "its CPU and memory are the front's plus the workers'")


def main_forward(args: argparse.Namespace) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    report = asyncio.run(run(args))
    text = save_json(report, args.json)
    print(text if not args.json else _summary(report))
    return 0


def _summary(report: dict[str, Any]) -> str:
    keys = ["cpu_us_per_packet_hop", "baseline_cpu_us_per_packet_hop", "speedup_vs_baseline", "packet_hops",
            "loss_pct", "server_cpu_pct", "generator_cpu_pct", "max_packet_hops_per_core_s", "stopped_because"]
    return "\n".join(f"{k}: {report[k]}" for k in keys if k in report)

