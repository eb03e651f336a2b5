"""A Router: one per room. It alone holds the source → consumers map and does the fan-out."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from .aiortc_bridge import SenderPort
from .consumer import Consumer, Source
from .producer import Producer, Upstream
from .rtp_writer import abs_send_time_now
from .stats import ForwardingTotals

_ids = itertools.count(1)


class Tap(Protocol):
    """Something other than a consumer that takes a source's packets from the fan-out (a transcoder's input)."""

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None: ...


def _new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):x}"


class Router:
    def __init__(self, router_id: str) -> None:
        self.id = router_id
        self.producers: dict[str, Producer] = {}
        self._consumers: dict[str, list[Consumer | Tap]] = {}  # source id -> consumers and taps
        self._closed_totals = ForwardingTotals()  # what closed producers and consumers did
        self.closed = False

    def create_producer(
        self,
        owner_id: str,
        kind: str,
        codec: RTCRtpCodecParameters,
        upstream: Upstream,
        rtt_s: Callable[[], float | None] = lambda: None,
    ) -> Producer:
        producer = Producer(self, _new_id("pr"), owner_id, kind, codec, upstream, rtt_s)
        self.producers[producer.id] = producer
        self._consumers[producer.id] = []
        return producer

    def create_consumer(self, source: Source, subscriber_id: str, port: SenderPort) -> Consumer:
        consumer = Consumer(self, _new_id("co"), subscriber_id, source, port)
        self._consumers.setdefault(source.id, []).append(consumer)
        consumer.request_keyframe()  # a new subscriber needs a picture to start from
        return consumer

    def fan_out(self, source: Source, packet: RtpPacket) -> None:
        consumers = self._consumers.get(source.id)
        if not consumers:
            return
        abs_send_time = abs_send_time_now()
        for consumer in consumers:
            consumer.send_rtp(packet, abs_send_time)

    def consumers_of(self, source_id: str) -> list[Consumer]:
        return [c for c in self._consumers.get(source_id, ()) if isinstance(c, Consumer)]

    def consumers_showing(self, producer_id: str) -> list[Consumer]:
        """Every consumer of a producer, whether it forwards the original or one of its renditions."""
        return [c for cs in self._consumers.values() for c in cs
                if isinstance(c, Consumer) and c.producer_id == producer_id]

    def add_tap(self, source_id: str, tap: Tap) -> None:
        """Let `tap` see every packet the fan-out gives this source's consumers."""
        self._consumers.setdefault(source_id, []).append(tap)

    def remove_tap(self, source_id: str, tap: Tap) -> None:
        taps = self._consumers.get(source_id)
        if taps and tap in taps:
            taps.remove(tap)

    def move_consumer(self, consumer: Consumer, source: Source) -> None:
        self._detach(consumer)
        self._consumers.setdefault(source.id, []).append(consumer)

    # -- lifecycle hooks from children -------------------------------------------------------------

    def producer_resumed(self, producer: Producer) -> None:
        for consumer in self.consumers_showing(producer.id):
            consumer.restart()

    def producer_closed(self, producer: Producer) -> None:
        if self.producers.pop(producer.id, None) is not None:
            self._closed_totals.add_producer(producer.stats)
        consumers = self.consumers_showing(producer.id)  # on the original or on one of its tiers
        self._consumers.pop(producer.id, None)
        for consumer in consumers:
            consumer.close()

    def consumer_closed(self, consumer: Consumer) -> None:
        self._detach(consumer)
        self._closed_totals.add_consumer(consumer.stats)

    def _detach(self, consumer: Consumer) -> None:
        consumers = self._consumers.get(consumer.source.id)
        if consumers and consumer in consumers:
            consumers.remove(consumer)

    def close(self) -> None:
        """Idempotent: closes every producer, and through them every consumer."""
        if self.closed:
            return
        self.closed = True
        for producer in list(self.producers.values()):
            producer.close()
        self._consumers.clear()

    def totals(self) -> ForwardingTotals:
        """Everything this router has received and forwarded, closed children included."""
        totals = ForwardingTotals().add(self._closed_totals)
        for producer in self.producers.values():
            totals.add_producer(producer.stats)
        for consumers in self._consumers.values():
            for consumer in consumers:
                if isinstance(consumer, Consumer):
                    totals.add_consumer(consumer.stats)
        return totals

    @property
    def consumer_count(self) -> int:
        return sum(isinstance(c, Consumer) for cs in self._consumers.values() for c in cs)
