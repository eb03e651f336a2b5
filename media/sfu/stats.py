"""Forwarding totals: what a router (and, summed, a server) has received and forwarded.

Totals are monotonic: when a producer or consumer closes, its counts move into its router's closed
totals, and a closed router's into its registry's, so counters never run backwards for a scraper.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class ForwardingTotals:
    packets_received: int = 0
    bytes_received: int = 0
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    retransmissions: int = 0
    nacks_received: int = 0
    nacks_sent: int = 0
    plis_sent: int = 0

    def add(self, other: ForwardingTotals) -> ForwardingTotals:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def add_producer(self, stats: Any) -> None:
        self.packets_received += stats.packets
        self.bytes_received += stats.bytes
        self.nacks_sent += stats.nacks_sent
        self.plis_sent += stats.plis_sent

    def add_consumer(self, stats: Any) -> None:
        self.packets_forwarded += stats.packets
        self.bytes_forwarded += stats.bytes
        self.retransmissions += stats.retransmitted
        self.nacks_received += stats.nacked
