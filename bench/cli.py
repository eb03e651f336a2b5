"""The `vaidya-bench` command: load tests that size a deployment."""

from __future__ import annotations

import argparse
import sys

from . import capacity, commits, consults, failover, forward, hop_floor, light_cost, relay, soak, transcode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaidya-bench", description="Vaidya load tests (servers run on loopback).")
    sub = parser.add_subparsers(dest="command", required=True)
    forward.add_parser(sub)
    consults.add_parser(sub)
    capacity.add_parser(sub)
    transcode.add_parser(sub)
    relay.add_parser(sub)
    failover.add_parser(sub)
    light_cost.add_parser(sub)
    hop_floor.add_parser(sub)
    commits.add_parser(sub)
    soak.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
