"""`vaidya-bench light-cost`: what one participant costs the load generator, full against light.

Each run starts one server and measures two windows of the same load, one after the other: N full
consultations (`bench.participant`: decode, stamps, PSNR), then N light ones (`bench.light_participant`:
publish the same media, count RTP). The generator's CPU (this process: `--workers` is not used) divided
by the participants gives its cost per participant; `--repeat` runs give medians with min–max. This is
why `capacity --light` can load the server far past where full clients saturate the generator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from bench.consults import Consults, Server, loopback_candidates, progress
from bench.forward import add_server_workers_argument
from bench.report import spread
from bench.role_links import parse_role_links


async def _window(server: Server, consults: int, seconds: float, light: bool) -> dict[str, Any]:
    load = Consults(server, parse_role_links("lan", [], False, None), light=light, probes=0)
    try:
        await load.add(consults)
        await load.settle()
        report = await load.measure(seconds)
    finally:
        await load.close()
    progress("")
    return {
        "participants": report["participants"],
        "joined": report["joined"],
        "loss_pct": report["loss_pct"],
        "received_pps": report["received_pps"],
        "generator_cpu_pct": report["generator_cpu_pct"],
        "generator_cpu_pct_per_participant": round(report["generator_cpu_pct"] / report["participants"], 2),
        "server_cpu_pct": report["server_cpu_pct"],
        "machine_others_pct": report["machine"]["others_pct"],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    with loopback_candidates():
        for i in range(args.repeat):
            server = Server(None, None, workers=args.server_workers)
            try:
                await server.ready()
                print(f"run {i + 1}/{args.repeat}: {args.consults} full consults", file=sys.stderr)
                full = await _window(server, args.consults, args.seconds, light=False)
                print(f"run {i + 1}/{args.repeat}: {args.consults} light consults", file=sys.stderr)
                light = await _window(server, args.consults, args.seconds, light=True)
            finally:
                server.stop()
            runs.append({"full": full, "light": light})
    full_cost = [r["full"]["generator_cpu_pct_per_participant"] for r in runs]
    light_cost = [r["light"]["generator_cpu_pct_per_participant"] for r in runs]
    return {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "consults": args.consults,
        "generator_cpu_pct_per_participant": {"full": spread(full_cost), "light": spread(light_cost)},
        "light_over_full": spread([light / full for light, full in zip(light_cost, full_cost) if full]),
        "runs": runs,
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("light-cost", help="the load generator's CPU per participant, full against light clients")
    p.add_argument("--consults", type=int, default=6, help="consultations in each window (default 6)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured window (default 10)")
    p.add_argument("--repeat", type=int, default=3, help="runs; medians with min–max are reported (default 3)")
    add_server_workers_argument(p)
    p.add_argument("--json", default=None, help="write the report to this file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.consults < 1 or args.seconds <= 0 or args.repeat < 1:
        print("vaidya-bench light-cost: --consults, --repeat must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    cost = report["generator_cpu_pct_per_participant"]
    print(f"generator CPU per participant (% of a core): full {cost['full']}, light {cost['light']}; "
          f"light/full {report['light_over_full']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0
