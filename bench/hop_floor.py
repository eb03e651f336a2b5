"""`vaidya-bench hop-floor`: the least CPU a packet-hop written in Python can cost on this machine.

A forwarded packet-hop needs at least three things: a copy of the packet with its header rewritten
(sequence number, timestamp, SSRC), SRTP protection, and one `sendto`. This command times those three
steps in a bare loop: no event loop, no receive side, no statistics. `forward` measures the server's
real cost per hop. Set against this floor, it shows how much of that cost is the server's own work, and
whether a per-core target can be met in Python on this machine at all. The machine's speed drifts by
several times between days, so each part is reported as a median of `--repeat` runs with min–max.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
from typing import Any

import pylibsrtp

from bench.report import spread

#: A VP8 packet of a 500 kbit/s 360p stream is about this long.
PAYLOAD_BYTES = 1100
DRAIN_EVERY = 64

PARTS = ("rewrite_protect", "sendto", "hop")


class HopLoop:
    """One sender and one loopback receiver; the receiver's reads are timed apart and left out."""

    def __init__(self) -> None:
        policy = pylibsrtp.Policy(key=os.urandom(30), ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
        self._srtp = pylibsrtp.Session(policy=policy)
        self._rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self._rx.bind(("127.0.0.1", 0))
        self._rx.setblocking(False)
        self._tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._address = self._rx.getsockname()
        self._packet = bytes([0x80, 96]) + bytes(10) + os.urandom(PAYLOAD_BYTES)
        self._sequence = 0  # SRTP refuses a sequence it has seen: one counter across runs
        self.sent = 0
        self.received = 0

    def close(self) -> None:
        self._rx.close()
        self._tx.close()

    def _drain(self) -> float:
        """Read what arrived; return the CPU seconds it took, which are the receiver's, not the hop's."""
        start = time.process_time()
        try:
            while True:
                self._rx.recv(2048)
                self.received += 1
        except BlockingIOError:
            pass
        return time.process_time() - start

    def run(self, part: str, hops: int) -> float:
        """CPU µs per hop for `part`, one of PARTS; `hops` is rounded down to whole batches of DRAIN_EVERY."""
        pack_header = struct.Struct("!HIi").pack_into
        protect, sendto, address, packet = self._srtp.protect, self._tx.sendto, self._address, self._packet
        batches = hops // DRAIN_EVERY
        sequence = self._sequence
        drained = 0.0
        start = time.process_time()
        for _ in range(batches):
            if part == "sendto":
                for _ in range(DRAIN_EVERY):
                    sendto(packet, address)
            else:
                for _ in range(DRAIN_EVERY):
                    sequence = (sequence + 1) & 0xFFFF
                    header = bytearray(packet)
                    pack_header(header, 2, sequence, sequence * 3000, 0x1234)
                    protected = protect(bytes(header))
                    if part == "hop":
                        sendto(protected, address)
            if part != "rewrite_protect":
                self.sent += DRAIN_EVERY
            drained += self._drain()
        spent = time.process_time() - start - drained
        self._sequence = sequence
        return spent / (batches * DRAIN_EVERY) * 1e6


def measure(hops: int, repeat: int) -> dict[str, Any]:
    loop = HopLoop()
    try:
        runs: dict[str, list[float]] = {part: [] for part in PARTS}
        for _ in range(repeat):
            for part in PARTS:
                runs[part].append(loop.run(part, hops))
        sent, received = loop.sent, loop.received
    finally:
        loop.close()
    us = {part: spread(values, 1) for part, values in runs.items()}
    return {
        "command": "vaidya-bench " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "hops_per_run": hops // DRAIN_EVERY * DRAIN_EVERY,
        "us_per_hop": us,
        "runs_us_per_hop": {part: [round(v, 2) for v in values] for part, values in runs.items()},
        "hops_per_core_s": round(1e6 / us["hop"]["median"]) if us["hop"]["median"] else None,
        "datagrams_sent": sent,
        "datagrams_received": received,
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hop-floor", help="the least CPU a Python packet-hop costs here (rewrite, SRTP, sendto)")
    p.add_argument("--hops", type=int, default=30_000, help="hops per run of each part, in whole batches of 64 (default 30000)")
    p.add_argument("--repeat", type=int, default=5, help="runs; medians with min–max are reported (default 5)")
    p.add_argument("--json", default=None, help="write the report to this file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.hops < DRAIN_EVERY or args.repeat < 1:
        print(f"vaidya-bench hop-floor: --hops must be >= {DRAIN_EVERY} and --repeat >= 1", file=sys.stderr)
        return 2
    report = measure(args.hops, args.repeat)
    for part in PARTS:
        print(f"{part}: {report['us_per_hop'][part]} µs per hop")
    print(f"hops_per_core_s: {report['hops_per_core_s']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0
