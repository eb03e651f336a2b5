"""A TierSource: one transcoded rendition of a producer, forwarded to its consumers like a producer.

A transcoder hands it the payloads of each encoded frame (already packetized for the codec); it numbers
them as its own RTP stream, keeps a packet history for NACKs and fans them out through the router. It
keeps the producer's RTP timestamps, so the producer's sender reports (lip sync) hold for it too.
Consumers switch onto it with `Consumer.switch_source`, which carries their SSRC and numbering over.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media.sfu.packet_cache import AUDIO_HISTORY, VIDEO_HISTORY, PacketCache
from media.sfu.producer import Producer
from media.sfu.router import Router


@dataclass
class TierStats:
    frames: int = 0
    packets: int = 0
    bytes: int = 0
    keyframe_requests: int = 0


class TierSource:
    def __init__(
        self,
        router: Router,
        producer: Producer,
        name: str,
        on_keyframe_request: Callable[[], None] = lambda: None,
    ) -> None:
        self.router = router
        self.producer = producer
        self.name = name
        self.id = f"{producer.id}/{name}"
        self.kind = producer.kind
        self.codec: RTCRtpCodecParameters = producer.codec
        self.clock_rate = producer.clock_rate
        self.cache = PacketCache(VIDEO_HISTORY if self.kind == "video" else AUDIO_HISTORY)
        self.stats = TierStats()
        self.closed = False
        self._on_keyframe_request = on_keyframe_request
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)

    @property
    def paused(self) -> bool:
        return self.producer.paused

    @property
    def sender_report(self) -> tuple[int, int] | None:
        return self.producer.sender_report

    def request_keyframe(self) -> None:
        """A consumer needs a picture to start from: the tier's encoder makes its next frame a keyframe."""
        if self.kind == "video" and not self.closed:
            self.stats.keyframe_requests += 1
            self._on_keyframe_request()

    def send_frame(self, payloads: list[bytes], timestamp: int) -> None:
        """Number one frame's packets, keep them for NACKs, and fan them out (marker on the last)."""
        if self.closed or not payloads:
            return
        self.stats.frames += 1
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=self.codec.payloadType,
                marker=1 if i == last and self.kind == "video" else 0,
                sequence_number=self._seq,
                timestamp=timestamp & 0xFFFFFFFF,
                ssrc=self._ssrc,
                payload=payload,
            )
            self._seq = (self._seq + 1) & 0xFFFF
            self.stats.packets += 1
            self.stats.bytes += len(payload)
            self.cache.put(packet)
            if not self.producer.paused:
                self.router.fan_out(self, packet)

    def close(self) -> None:
        """Idempotent. Whoever started the tier moves its consumers elsewhere first."""
        self.closed = True
