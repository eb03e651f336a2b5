"""A Producer: one published track arriving at a router, still encoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from .background import spawn
from .keyframe import KeyframeRequester
from .nack import NackScheduler
from .packet_cache import AUDIO_HISTORY, VIDEO_HISTORY, PacketCache

if TYPE_CHECKING:
    from .router import Router


class Upstream(Protocol):
    """What a producer can ask of its publisher."""

    async def send_pli(self) -> None: ...
    async def send_nack(self, lost: list[int]) -> None: ...


@dataclass
class ProducerStats:
    packets: int = 0
    bytes: int = 0
    nacks_sent: int = 0
    keyframe_requests: int = 0
    plis_sent: int = 0


class Producer:
    """Receives a publisher's RTP for one track and hands every packet to its router's fan-out.

    It keeps what consumers share: a packet history for NACKs, the keyframe-request throttle, the
    publisher's latest sender report (for lip sync downstream) and the paused state.
    """

    def __init__(
        self,
        router: Router,
        producer_id: str,
        owner_id: str,
        kind: str,
        codec: RTCRtpCodecParameters,
        upstream: Upstream,
        rtt_s: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.router = router
        self.id = producer_id
        self.owner_id = owner_id
        self.kind = kind
        self.codec = codec
        self.clock_rate = codec.clockRate
        self.paused = False
        self.closed = False
        #: (NTP timestamp, RTP timestamp) of the publisher's latest sender report.
        self.sender_report: tuple[int, int] | None = None
        self.stats = ProducerStats()
        self.cache = PacketCache(VIDEO_HISTORY if kind == "video" else AUDIO_HISTORY)
        self._upstream = upstream
        self._rtt_s = rtt_s
        self._nack = NackScheduler() if kind == "video" else None
        self._keyframes = KeyframeRequester(self._send_pli)
        self.on_close: list[Callable[[], None]] = []

    def receive_rtp(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        self.stats.packets += 1
        self.stats.bytes += len(packet.payload)
        self.cache.put(packet)
        if self._nack is not None:
            due = self._nack.add(packet.sequence_number, self._rtt_s())
            if due:
                self.stats.nacks_sent += len(due)
                spawn(self._upstream.send_nack(due))
        if not self.paused and not self.closed:
            self.router.fan_out(self, packet)

    def on_sender_report(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self.sender_report = (ntp_timestamp, rtp_timestamp)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (throttled; audio ignores it)."""
        if self.kind == "video" and not self.closed:
            self.stats.keyframe_requests += 1
            self._keyframes.request()

    async def _send_pli(self) -> None:
        self.stats.plis_sent += 1
        try:
            await self._upstream.send_pli()
        except ConnectionError:
            pass

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.router.producer_resumed(self)

    def close(self) -> None:
        """Idempotent: closes this producer's consumers too."""
        if self.closed:
            return
        self.closed = True
        self._keyframes.close()
        self.router.producer_closed(self)
        for callback in self.on_close:
            callback()
        self.on_close.clear()
