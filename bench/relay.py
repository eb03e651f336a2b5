"""`vaidya-bench relay`: what the front ↔ worker channel adds to signaling (`vaidya serve --workers N`).

The same server runs in one process (`--workers 0`, the baseline) and with workers, alternating, in one
invocation. Measured over loopback with one client at a time, so the figures are the path's own cost:
- `join_ms`: a fresh connection's `join` to its `joined` reply (a new room each time: placement included);
- `message_us`: a request's round trip on a joined connection (an unknown message type, which the room's
  session answers with `bad_message` without touching media: the relay's cost, not a handler's);
- `server_cpu_us_per_message`: the server's CPU (front and workers) per such request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from signaling.client import SignalingClient, SignalingError
from signaling.grants import mint_token

from .forward import ServerUnderTest
from .report import save_json, spread

SECRET = "bench-relay-" + "s" * 40


async def _one_mode(workers: int, joins: int, messages: int) -> dict[str, float]:
    # the per-connection rate limit is lifted: one client sends back-to-back requests
    env = {"VAIDYA_WORKERS": str(workers), "VAIDYA_ADAPTIVE": "0", "VAIDYA_WS_RATE_BURST": "1000000",
           "VAIDYA_WS_RATE_PER_S": "1000000"}
    server = ServerUnderTest("vaidya", SECRET, env=env)
    try:
        await server.ready()
        await asyncio.sleep(1.5 if workers else 0.2)  # workers start after the front listens
        join_ms = []
        for i in range(joins):
            client = await SignalingClient(server.ws_url).connect()
            room = f"relay-{i}"
            t0 = time.perf_counter()
            await client.join(room, mint_token(SECRET, room=room, identity=f"p{i}", role="observer"))
            join_ms.append((time.perf_counter() - t0) * 1000)
            await client.close()
        client = await SignalingClient(server.ws_url).connect()
        await client.join("relay-msg", mint_token(SECRET, room="relay-msg", identity="m", role="observer"))
        round_trips = []
        cpu0 = server.cpu_seconds()
        for _ in range(messages):
            t0 = time.perf_counter()
            try:
                await client.request({"type": "no-such-type", "room": "relay-msg"})
            except SignalingError:
                pass
            round_trips.append((time.perf_counter() - t0) * 1e6)
        cpu = server.cpu_seconds() - cpu0
        await client.close()
        return {"join_ms": statistics.median(join_ms), "message_us": statistics.median(round_trips),
                "server_cpu_us_per_message": cpu / messages * 1e6}
    finally:
        server.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[int, list[dict[str, float]]] = {0: [], args.workers: []}
    for _ in range(args.runs):
        for workers in runs:  # alternate, so the machine's drift hits both alike
            runs[workers].append(await _one_mode(workers, args.joins, args.messages))
    report: dict[str, Any] = {"runs": args.runs, "joins": args.joins, "messages": args.messages, "workers": args.workers}
    for label, workers in (("baseline", 0), ("relayed", args.workers)):
        report[label] = {key: spread([r[key] for r in runs[workers]]) for key in runs[workers][0]}
    for key in ("join_ms", "message_us", "server_cpu_us_per_message"):
        report[f"added_{key}"] = round(report["relayed"][key]["median"] - report["baseline"][key]["median"], 2)
    return report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relay", help="what the front-to-worker relay adds to joins and messages (--workers N)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the relayed server (default 2)")
    p.add_argument("--joins", type=int, default=50, help="joins measured per run (default 50)")
    p.add_argument("--messages", type=int, default=3000, help="request round trips measured per run (default 3000)")
    p.add_argument("--runs", type=int, default=3, help="runs of each mode, alternating (default 3)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=main_relay)


def main_relay(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.joins < 1 or args.messages < 1 or args.runs < 1:
        print("vaidya-bench relay: --workers, --joins, --messages and --runs must be >= 1", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    text = save_json(report, args.json)
    print(text)
    return 0
