"""`vaidya-bench failover`: how fast a consultation comes back when the node holding it dies.

Starts a redis-server and three nodes (`vaidya serve --workers 1 --redis URL`, node-0 keeping the
records), then per trial: a patient connected to one node and a doctor connected to the next, both
sending video (pre-encoded VP8 320×180 15 fps) and Opus; once each receives the other's video, `kill -9`
of the node that owns the room (its front; its workers exit with their channel). Each party then does
what the browser client does: its socket closes (or the relaying node closes it with 1012), it
reconnects — to the next live node, as a load balancer would send it — after 0.5 s and joins again.
`resume_s` is the time from the kill until both receive the other's video again; a consultation that
has not resumed after `--give-up` seconds is lost. The killed node is started again before the next trial.
Before the trials, `redis` measures what the room directory costs Redis (idle heartbeats per node-minute,
and the commands one consultation adds), and `portal_relay` what a portal page costs when a rooms-only node
relays it to the records node (signaling/records_relay.py) against the same page from the records node
itself, the baseline, requests alternating between the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from signaling.client import SignalingClient
from signaling.grants import mint_token

from .audio_marks import PreencodedAudioTrack
from .forward import ServerUnderTest
from .redis_server import RedisServer
from .report import save_json
from .video_source import PreencodedVideoTrack

NODES = 3
#: The browser client's first reconnect comes after ~0.5 s (vaidya-client.js BACKOFF_MS).
RECONNECT_S = 0.5


class Party:
    """A patient or doctor that sends, counts the other's video frames, and rejoins when its socket closes."""

    def __init__(self, identity: str, role: str, room: str, secret: str) -> None:
        self.identity, self.role, self.room, self.secret = identity, role, room, secret
        self.client: SignalingClient | None = None
        self.frames: list[float] = []  # arrival times of the other's video frames
        self._readers: list[asyncio.Task[None]] = []

    async def join(self, url: str) -> None:
        self.client = await SignalingClient(url).connect()
        token = mint_token(self.secret, room=self.room, identity=self.identity, role=self.role, ttl_s=600)
        peer = await self.client.join(self.room, token)
        peer.on_track = lambda track, info: self._readers.append(asyncio.ensure_future(self._count(track)))
        await peer.publish(PreencodedVideoTrack(320, 180, 15, 200_000), PreencodedAudioTrack(16_000))

    async def _count(self, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            return
        try:
            while True:
                await track.recv()
                self.frames.append(time.monotonic())
        except MediaStreamError:
            return

    def frames_since(self, t: float) -> int:
        return sum(1 for f in self.frames if f >= t)

    async def close(self) -> None:
        """Leave; what arrived on this connection is forgotten (resuming counts only the new one's frames)."""
        for task in self._readers:
            task.cancel()
        self._readers.clear()
        self.frames.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None


async def _until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return False


def _node(index: int, secret: str, redis_url: str) -> ServerUnderTest:
    env = {"VAIDYA_REDIS_URL": redis_url, "VAIDYA_NODE_ID": f"node-{index}", "VAIDYA_RECORDS": "1" if index == 0 else "0",
           "VAIDYA_PEER_TIMEOUT_S": "3.5"}
    return ServerUnderTest("vaidya", secret, env=env, workers=1)


async def trial(number: int, nodes: list[ServerUnderTest], secret: str, give_up: float) -> dict[str, Any]:
    room = f"failover-{number}"
    first, second = number % NODES, (number + 1) % NODES
    patient = Party(f"pt-{number}", "patient", room, secret)
    doctor = Party(f"dr-{number}", "doctor", room, secret)
    try:
        await patient.join(nodes[first].ws_url)  # the room is claimed by the node its first member reaches
        await doctor.join(nodes[second].ws_url)
        start = time.monotonic()
        if not await _until(lambda: patient.frames_since(start) > 5 and doctor.frames_since(start) > 5, 20):
            return {"trial": number, "error": "media never flowed before the kill"}
        nodes[first].proc.kill()
        killed = time.monotonic()
        # each party reconnects as the browser does: after its socket closes, to the next live node
        for party in (patient, doctor):
            await _until(lambda party=party: party.client is None or party.client.closed, 10)
        await asyncio.sleep(RECONNECT_S)
        for party in (patient, doctor):
            await party.close()
            await party.join(nodes[(first + 2) % NODES].ws_url if party is patient else nodes[second].ws_url)
        resumed = await _until(lambda: patient.frames_since(killed) > 2 and doctor.frames_since(killed) > 2,
                               give_up - (time.monotonic() - killed))
        both = max(min(f for f in party.frames if f >= killed) for party in (patient, doctor)) if resumed else None
        return {"trial": number, "killed": f"node-{first}", "resume_s": round(both - killed, 2) if both else None}
    except Exception as exc:  # a trial that breaks is a lost consultation, said why
        return {"trial": number, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        await patient.close()
        await doctor.close()


def _redis_calls(url: str) -> int:
    """Commands Redis has executed since it started (INFO commandstats), this query excluded."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(int(v["calls"]) for v in stats.values())


async def directory_load(nodes: list[ServerUnderTest], secret: str, redis_url: str) -> dict[str, float]:
    """What the room directory costs Redis: heartbeats per node-minute while idle, and the commands one
    consultation adds from its first join to the last leave (claims, lookups, release), heartbeats taken off."""
    idle_s = 10.0
    before = _redis_calls(redis_url)
    await asyncio.sleep(idle_s)
    beat_per_s = (_redis_calls(redis_url) - before - 1) / idle_s
    patient = Party("pt-load", "patient", "directory-load", secret)
    doctor = Party("dr-load", "doctor", "directory-load", secret)
    before, started = _redis_calls(redis_url), time.monotonic()
    await patient.join(nodes[0].ws_url)
    await doctor.join(nodes[1].ws_url)  # relayed: the other node looks the room up too
    await _until(lambda: len(patient.frames) > 5 and len(doctor.frames) > 5, 20)
    await patient.close()
    await doctor.close()
    await asyncio.sleep(1.5)  # the leaves release the room
    calls = _redis_calls(redis_url) - before - 1 - beat_per_s * (time.monotonic() - started)
    return {"heartbeat_ops_per_node_minute": round(beat_per_s * 60 / len(nodes), 1),
            "ops_per_consultation": round(calls, 1)}


async def portal_relay_cost(nodes: list[ServerUnderTest], requests: int = 200) -> dict[str, Any]:
    """Wall time of `GET /portal/` (the patient's first page, 2.5 kB) from the records node (node-0) and
    relayed through node-1, one request at a time on a kept-alive connection, the two paths alternating."""
    times: dict[str, list[float]] = {"direct": [], "relayed": []}
    bases = {"direct": f"http://127.0.0.1:{nodes[0].port}", "relayed": f"http://127.0.0.1:{nodes[1].port}"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for i in range(requests * 2 + 10):
            path = "direct" if i % 2 else "relayed"
            started = time.perf_counter()
            async with http.get(bases[path] + "/portal/") as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"GET /portal/ through the {path} path answered {resp.status}")
            if i >= 10:  # the first few warm the connections and the records node's lookup
                times[path].append((time.perf_counter() - started) * 1000)
    ms = {path: _spread(v) for path, v in times.items()}
    return {"requests_per_path": requests, "ms": ms,
            "added_ms_p50": round(ms["relayed"]["p50"] - ms["direct"]["p50"], 2)}


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2), "max": round(ordered[-1], 2)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    secret = secrets.token_urlsafe(32)
    store = RedisServer()
    nodes = [_node(i, secret, store.url) for i in range(NODES)]
    trials = []
    try:
        for node in nodes:
            await node.ready()
        await asyncio.sleep(2.0)  # workers up, heartbeats written
        directory = await directory_load(nodes, secret, store.url)
        relayed = await portal_relay_cost(nodes)
        print(json.dumps({"portal_relay": relayed}), file=sys.stderr)
        for number in range(args.trials):
            trials.append(await trial(number, nodes, secret, args.give_up))
            print(json.dumps(trials[-1]), file=sys.stderr)
            dead = number % NODES
            nodes[dead].stop()
            nodes[dead] = _node(dead, secret, store.url)  # back, as an orchestrator restarts it
            await nodes[dead].ready()
            await asyncio.sleep(2.0)
    finally:
        for node in nodes:
            node.stop()
        store.close()
    resumed = [t["resume_s"] for t in trials if t.get("resume_s") is not None]
    return {"trials": len(trials), "nodes": NODES, "resume_s": _spread(resumed),
            "lost_consults": len(trials) - len(resumed), "redis": directory, "portal_relay": relayed, "runs": trials}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("failover", help="kill -9 the node holding a consultation; time until media resumes")
    p.add_argument("--trials", type=int, default=10, help="consultations, one node killed in each (default 10)")
    p.add_argument("--give-up", type=float, default=30.0, help="a consultation not back after this is lost (default 30 s)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=main_failover)


def main_failover(args: argparse.Namespace) -> int:
    if args.trials < 1 or args.give_up <= 0:
        print("vaidya-bench failover: --trials must be >= 1 and --give-up > 0", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    text = save_json(report, args.json)
    print(text)
    return 0 if report["lost_consults"] == 0 else 1
