"""A shaping UDP relay: emulates a client's access link where the kernel has no netem.

Each `Link` is one client's access link with two directions (up: client → server, down: server →
client). A packet goes: loss (random or Gilbert–Elliott) → drop-tail queue of bounded depth → token
bucket at the link rate → one-way delay plus jitter → sent on. Every step is counted, so the report can
say what the link really was (`LinkStats`), and `conformance` names a shaper that did not deliver its
profile (an overloaded relay shows up as added delay beyond the profile's delay + jitter + queue).

Addressing, NAT-style: a client sends to a client-facing socket `route(server_addr)`; the relay sends
on from a server-facing socket that belongs to that client address, so the server sees the relay as
the client (a peer-reflexive candidate, or the address `expose(client_addr)` returned beforehand).
Replies arriving at a server-facing socket go back to its client from the client-facing socket of the
server address they came from. All sockets are bound on 127.0.0.1.

The relay runs in its own process (`ShaperProcess`) so its CPU does not distort the server's or the load
generator's numbers; `Relay` itself can also run inside any event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.profiles import LinkProfile

Addr = tuple[str, int]
IP_UDP_OVERHEAD = 28
"""IPv4 + UDP header bytes: a real bottleneck carries them, so the rate counts them."""
BUCKET_BYTES = 1600
"""Token-bucket depth: about one full packet, so the link serializes instead of bursting."""
TIMER_SLACK = 0.001
"""Packets due within this many seconds go out together (libuv timers have 1 ms resolution)."""
MAX_DELAY_SAMPLES = 200_000
BIND_HOST = "127.0.0.1"


@dataclass
class DirectionStats:
    """What one direction of a link did, as counted by the relay."""

    packets_in: int = 0
    packets_out: int = 0
    dropped_loss: int = 0
    dropped_queue: int = 0
    send_errors: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    """Wire bytes (payload + IP/UDP headers) sent on."""
    queue_peak_bytes: int = 0
    first_in: float | None = None
    last_out: float | None = None
    added_delay_ms: list[float] = field(default_factory=list)
    """Measured per packet: time sent on minus time received (queueing + delay + jitter + lateness)."""
    bytes_per_second: dict[int, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counters plus derived figures: loss %, delivered and peak rate, added delay percentiles."""
        from bench.measure import percentiles

        span = (self.last_out - self.first_in) if self.first_in is not None and self.last_out else 0.0
        full_seconds = sorted(self.bytes_per_second)[1:-1]  # first and last seconds are partial
        return {
            "packets_in": self.packets_in,
            "packets_out": self.packets_out,
            "dropped_loss": self.dropped_loss,
            "dropped_queue": self.dropped_queue,
            "send_errors": self.send_errors,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "loss_pct": 100.0 * self.dropped_loss / self.packets_in if self.packets_in else 0.0,
            "queue_drop_pct": 100.0 * self.dropped_queue / self.packets_in if self.packets_in else 0.0,
            "delivered_kbps": self.bytes_out * 8 / span / 1000 if span > 0 else 0.0,
            "peak_kbps": max((self.bytes_per_second[s] * 8 / 1000 for s in full_seconds), default=None),
            "queue_peak_bytes": self.queue_peak_bytes,
            "added_delay_ms": percentiles(self.added_delay_ms),
        }


class Direction:
    """Shapes one direction of one link and counts what it did."""

    def __init__(self, profile: LinkProfile, loop: asyncio.AbstractEventLoop, seed: int | None = None) -> None:
        self.stats = DirectionStats()
        self.earlier: list[tuple[LinkProfile, DirectionStats]] = []
        """Profiles this direction had before `set_profile`, each with what it did under that profile."""
        self._loop = loop
        self._rng = random.Random(seed)
        self._apply(profile)
        self._bad = False
        self._tokens = float(BUCKET_BYTES)
        self._last_departure = 0.0
        self._backlog: list[tuple[float, int]] = []  # (departure time, wire bytes), FIFO
        self._backlog_bytes = 0
        self._backlog_head = 0
        self._last_delivery = 0.0
        self._due: list[tuple[float, int, float, bytes, socket.socket, Addr, DirectionStats]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def _apply(self, profile: LinkProfile) -> None:
        self.profile = profile
        self._rate = profile.rate_bps / 8 if profile.rate_bps else None  # bytes per second
        self._queue_limit = profile.queue_bytes
        self._bursty = profile.loss > 0 and profile.burst > 1
        self._p_gb, self._p_bg = profile.gilbert_elliott() if self._bursty else (0.0, 0.0)

    def set_profile(self, profile: LinkProfile) -> None:
        """Shape packets arriving from now on with `profile` (a link that changes mid-call).

        Packets already queued leave as scheduled and count under the profile they arrived in; a fresh
        `stats` segment starts, so each profile is judged (`conformance`) only on what it carried.
        """
        self.earlier.append((self.profile, self.stats))
        self.stats = DirectionStats()
        self._apply(profile)

    def _lost(self) -> bool:
        if self._bursty:
            lost = self._bad
            if self._bad:
                self._bad = self._rng.random() >= self._p_bg
            else:
                self._bad = self._rng.random() < self._p_gb
            return lost
        return self.profile.loss > 0 and self._rng.random() < self.profile.loss

    def _departure(self, now: float, wire: int) -> float | None:
        """When the packet leaves the bottleneck, or None if the drop-tail queue is full."""
        if self._rate is None:
            return now
        backlog = self._backlog
        while self._backlog_head < len(backlog) and backlog[self._backlog_head][0] <= now:
            self._backlog_bytes -= backlog[self._backlog_head][1]
            self._backlog_head += 1
        if self._backlog_head > 1024:
            del backlog[: self._backlog_head]
            self._backlog_head = 0
        assert self._queue_limit is not None
        if self._backlog_bytes + wire > self._queue_limit:
            return None
        start = max(now, self._last_departure)
        tokens = min(float(BUCKET_BYTES), self._tokens + (start - self._last_departure) * self._rate)
        if tokens >= wire:
            departure, self._tokens = start, tokens - wire
        else:
            departure, self._tokens = start + (wire - tokens) / self._rate, 0.0
        self._last_departure = departure
        backlog.append((departure, wire))
        self._backlog_bytes += wire
        self.stats.queue_peak_bytes = max(self.stats.queue_peak_bytes, self._backlog_bytes)
        return departure

    def submit(self, data: bytes, sock: socket.socket, addr: Addr) -> None:
        """Take one packet arriving now; it is sent from `sock` to `addr` when the link lets it out."""
        now = self._loop.time()
        wire = len(data) + IP_UDP_OVERHEAD
        stats = self.stats
        stats.packets_in += 1
        stats.bytes_in += wire
        if stats.first_in is None:
            stats.first_in = now
        if self._lost():
            stats.dropped_loss += 1
            return
        departure = self._departure(now, wire)
        if departure is None:
            stats.dropped_queue += 1
            return
        p = self.profile
        delivery = departure + p.delay_ms / 1000
        if p.jitter_ms:
            delivery += self._rng.uniform(-p.jitter_ms, p.jitter_ms) / 1000
            delivery = max(delivery, departure)
        if not p.reorder:
            delivery = max(delivery, self._last_delivery)
            self._last_delivery = delivery
        if delivery <= now and not self._due:
            self._send(now, now, data, sock, addr, stats)
            return
        heapq.heappush(self._due, (delivery, next(self._order), now, data, sock, addr, stats))
        if self._timer is None or delivery < self._timer_at:
            self._arm(delivery)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = self._loop.time()
        due = self._due
        while due and due[0][0] <= now + TIMER_SLACK:
            _, _, arrived, data, sock, addr, stats = heapq.heappop(due)
            self._send(now, arrived, data, sock, addr, stats)
        if due:
            self._arm(due[0][0])

    def _send(
        self, now: float, arrived: float, data: bytes, sock: socket.socket, addr: Addr, stats: DirectionStats
    ) -> None:
        try:
            sock.sendto(data, addr)
        except OSError:
            stats.send_errors += 1
            return
        wire = len(data) + IP_UDP_OVERHEAD
        stats.packets_out += 1
        stats.bytes_out += wire
        stats.last_out = now
        second = int(now)
        stats.bytes_per_second[second] = stats.bytes_per_second.get(second, 0) + wire
        if len(stats.added_delay_ms) < MAX_DELAY_SAMPLES:
            stats.added_delay_ms.append((now - arrived) * 1000)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((BIND_HOST, 0))
    sock.setblocking(False)
    return sock


def _read_all(sock: socket.socket, handle: Callable[[bytes, Addr], None]) -> None:
    """Drain a readable socket: one wake-up serves every datagram already queued."""
    while True:
        try:
            data, addr = sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # e.g. ICMP port unreachable reported on the next read
            continue
        handle(data, addr)


class Link:
    """One client's access link: both directions and the client/server address mapping."""

    def __init__(
        self, up: LinkProfile, down: LinkProfile, loop: asyncio.AbstractEventLoop, seed: int | None = None
    ) -> None:
        self._loop = loop
        self.up = Direction(up, loop, None if seed is None else seed * 2)
        self.down = Direction(down, loop, None if seed is None else seed * 2 + 1)
        self._client_facing: dict[Addr, socket.socket] = {}  # server address → socket clients send to
        self._server_facing: dict[Addr, socket.socket] = {}  # client address → socket the server sees
        self.unrouted = 0

    def route(self, server: Addr) -> Addr:
        """The relay address a client must send to so its packets reach `server` through this link."""
        return self._socket(self._client_facing, server, lambda d, a: self._from_client(d, a, server))

    def expose(self, client: Addr) -> Addr:
        """The relay address the server sees for `client` (created now, so it can go into an offer)."""
        return self._socket(self._server_facing, client, lambda d, a: self._from_server(d, a, client))

    def _socket(self, table: dict[Addr, socket.socket], key: Addr, handle: Callable[[bytes, Addr], None]) -> Addr:
        sock = table.get(key)
        if sock is None:
            sock = table[key] = _udp_socket()
            self._loop.add_reader(sock.fileno(), _read_all, sock, handle)
        return sock.getsockname()

    def _from_client(self, data: bytes, client: Addr, server: Addr) -> None:
        if client not in self._server_facing:
            self.expose(client)
        self.up.submit(data, self._server_facing[client], server)

    def _from_server(self, data: bytes, server: Addr, client: Addr) -> None:
        sock = self._client_facing.get(server)
        if sock is None:
            self.unrouted += 1
            return
        self.down.submit(data, sock, client)

    def set_profile(self, up: LinkProfile, down: LinkProfile | None = None) -> None:
        """Change both directions from now on; `down` defaults to the same profile as `up`."""
        self.up.set_profile(up)
        self.down.set_profile(down or up)

    def stats(self) -> dict[str, Any]:
        """Per direction: the current profile's segment, and under `earlier` each profile it had before."""
        return {
            "up": _direction_stats(self.up),
            "down": _direction_stats(self.down),
            "unrouted": self.unrouted,
        }

    def close(self) -> None:
        for sock in (*self._client_facing.values(), *self._server_facing.values()):
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._client_facing.clear()
        self._server_facing.clear()
        self.up.close()
        self.down.close()


def _direction_stats(direction: Direction) -> dict[str, Any]:
    return {
        "profile": direction.profile.to_dict(),
        **direction.stats.summary(),
        "earlier": [{"profile": profile.to_dict(), **stats.summary()} for profile, stats in direction.earlier],
    }


def segments(direction: dict[str, Any]) -> list[dict[str, Any]]:
    """Every profile segment of one direction of `Link.stats()`, oldest first (one unless it changed)."""
    return [*direction.get("earlier", []), direction]


def conformance(direction: dict[str, Any], tolerance: float = 0.1, lateness_ms: float = 25.0) -> list[str]:
    """Ways in which one direction's measured behaviour departs from its profile (empty: it conformed).

    `direction` is one side of `Link.stats()`. A one-second peak may exceed the rate by one bucket and
    then by `tolerance`; the added delay's p95 may exceed delay + jitter + the queue's drain time by
    `lateness_ms` (the relay waking late). Loss checks allow 4 standard deviations.
    """
    p = LinkProfile(**direction["profile"])
    problems: list[str] = []
    delay = direction["added_delay_ms"]
    queue_ms = p.queue_bytes * 8 / p.rate_bps * 1000 if p.rate_bps and p.queue_bytes else 0.0
    if delay["count"]:
        floor = p.delay_ms - p.jitter_ms - 2.0
        ceiling = p.delay_ms + p.jitter_ms + queue_ms + lateness_ms
        if delay["p50"] < floor:
            problems.append(f"added delay p50 {delay['p50']:.1f} ms is below the profile's {p.delay_ms:g} ms")
        if delay["p95"] > ceiling:
            problems.append(
                f"added delay p95 {delay['p95']:.1f} ms exceeds delay + jitter + queue ({ceiling:.0f} ms): "
                "the relay is falling behind"
            )
    if p.rate_bps and direction["peak_kbps"] is not None:
        allowed = (p.rate_bps + BUCKET_BYTES * 8) / 1000  # a second may hold one full bucket on top
        if direction["peak_kbps"] > allowed * (1 + tolerance):
            problems.append(f"peak rate {direction['peak_kbps']:.0f} kbit/s exceeds {p.rate_bps / 1000:g} kbit/s")
    n = direction["packets_in"]
    if n >= 100:
        measured = direction["dropped_loss"] / n
        sigma = (p.loss * (1 - p.loss) * (2 * p.burst - 1) / n) ** 0.5  # bursts widen the spread
        if abs(measured - p.loss) > 4 * sigma + 0.002:
            problems.append(f"random loss {measured * 100:.2f} % differs from the profile's {p.loss * 100:g} %")
    if direction["send_errors"]:
        problems.append(f"{direction['send_errors']} packets could not be sent on")
    return problems


class Relay:
    """All links of one relay process, driven by one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._links: dict[int, Link] = {}
        self._ids = itertools.count(1)

    def add_link(self, up: LinkProfile, down: LinkProfile | None = None, seed: int | None = None) -> int:
        link_id = next(self._ids)
        self._links[link_id] = Link(up, down or up, self._loop, seed)
        return link_id

    def link(self, link_id: int) -> Link:
        try:
            return self._links[link_id]
        except KeyError:
            raise KeyError(f"no link {link_id}") from None

    def set_profile(self, link_id: int, up: LinkProfile, down: LinkProfile | None = None) -> None:
        self.link(link_id).set_profile(up, down)

    def close_link(self, link_id: int) -> None:
        link = self._links.pop(link_id, None)
        if link is not None:
            link.close()

    def close(self) -> None:
        for link_id in list(self._links):
            self.close_link(link_id)
