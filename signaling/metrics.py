"""`GET /metrics`: Prometheus text for operators. An observer: it reads the registry's counters when
scraped and adds nothing to the packet path. Served to loopback clients only (scrape it through the
host, or put it behind your proxy's authentication)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import keys
from .registry import RoomRegistry

_COUNTERS = {
    "packets_received": "RTP packets received from publishers",
    "bytes_received": "RTP payload bytes received from publishers",
    "packets_forwarded": "RTP packets forwarded to subscribers (packet-hops)",
    "bytes_forwarded": "RTP payload bytes forwarded to subscribers",
    "retransmissions": "packets resent to subscribers in answer to their NACKs",
    "nacks_received": "sequence numbers subscribers asked to have resent",
    "nacks_sent": "sequence numbers requested again from publishers",
    "plis_sent": "keyframe requests (PLI) sent to publishers",
}


class SfuCollector(Collector):
    def __init__(self, rooms: RoomRegistry) -> None:
        self._rooms = rooms

    def collect(self) -> Iterator[Metric]:
        rooms = self._rooms.rooms()
        yield GaugeMetricFamily("vaidya_rooms", "rooms with at least one participant", value=len(rooms))
        yield GaugeMetricFamily(
            "vaidya_participants", "participants in all rooms", value=sum(len(r.participants) for r in rooms)
        )
        yield GaugeMetricFamily("vaidya_producers", "published tracks", value=sum(len(r.producers()) for r in rooms))
        yield GaugeMetricFamily(
            "vaidya_consumers", "subscriber streams", value=sum(r.router.consumer_count for r in rooms)
        )
        totals = self._rooms.totals()
        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(f"vaidya_{name}", help_text, value=getattr(totals, name))


def is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def setup(app: web.Application) -> None:
    registry = CollectorRegistry()
    registry.register(SfuCollector(app[keys.REGISTRY]))

    async def metrics(request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            raise web.HTTPForbidden(text="metrics are served to loopback clients only")
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
