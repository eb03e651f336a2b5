"""A light synthetic participant: loads the server like a full one, costs the generator a fraction.

It joins and publishes exactly what its role's full `Participant` publishes (the pre-encoded loop of
the same `MediaPlan`), but receives as `forward`'s subscribers do: every SRTP-decrypted RTP datagram is
counted per SSRC from its raw header (`bench.forward.PacketSink`), never depacketized, jitter-buffered
or decoded. Loss comes from the sequence numbers; retransmissions are never asked for (no NACK leaves a
receiver that never parses), so loss is what the server and the network dropped. Its join time ends at
the first video RTP packet instead of the first decoded frame. It measures no picture (no stamps, g2g,
PSNR or freezes): `capacity --light` keeps a few full consultations as probes for that.
"""

from __future__ import annotations

import time
from typing import Any

from bench.audio_marks import PreencodedAudioTrack
from bench.forward import PacketSink, StreamCount
from bench.measure import VideoProbe
from bench.members import InProcessKind, MemberSpec, spec_factory
from bench.participant import MediaPlan
from bench.tiers import QualityLog
from media.sfu.aiortc_bridge import negotiated_codecs, send_directly
from signaling.client import RoomPeer, SignalingClient


class KindCountingSink(PacketSink):
    """A `PacketSink` that also knows each payload type's kind: it skips retransmissions (RTX), tells
    video from audio streams, and notes when the first video packet arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first_video: float | None = None
        self.video_offered: float | None = None
        """When the first video track was offered to this receiver."""
        self.video_ssrcs: set[int] = set()
        self.bytes = 0
        self._pc: Any = None
        self._kinds: dict[int, str] = {}
        """payload type → "video", "audio" or "rtx", from the subscribe connection's negotiated codecs"""

    def attach(self, pc: Any) -> None:
        self._pc = pc
        super().attach(pc)

        @pc.on("track")
        def offered(track: Any) -> None:
            if track.kind == "video" and self.video_offered is None:
                self.video_offered = time.time()

    def _learn_payload_types(self) -> None:
        for transceiver in self._pc.getTransceivers():
            for codec in negotiated_codecs(transceiver):
                rtx = codec.mimeType.lower().endswith("/rtx")
                self._kinds[codec.payloadType] = "rtx" if rtx else transceiver.kind

    def _count(self, data: bytes, arrival_time_ms: int) -> None:
        payload_type = data[1] & 0x7F
        kind = self._kinds.get(payload_type)
        if kind is None:  # a codec the last offer added: learn again (rare, cheap)
            self._learn_payload_types()
            kind = self._kinds.get(payload_type)
        if kind == "rtx":
            return
        self.bytes += len(data)
        ssrc = int.from_bytes(data[8:12], "big")
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamCount()
            if kind == "video":
                self.video_ssrcs.add(ssrc)
                if self.first_video is None:
                    self.first_video = time.time()
        stream.add((data[2] << 8) | data[3])


class LightParticipant:
    """One patient, doctor or hub specialist that publishes like a phone and only counts what arrives."""

    def __init__(self, spec: MemberSpec) -> None:
        self.room, self.role, self.token, self.url = spec.room, spec.role, spec.token, spec.url
        self.sends: MediaPlan = spec.plans[spec.role]
        self.video: dict[str, VideoProbe] = {}
        """Always empty: a light member decodes nothing, so it adds no frames to fps or g2g."""
        self.quality = QualityLog()
        self.sink = KindCountingSink()
        self.window: tuple[float, float | None] = (time.time(), None)
        self.error: str | None = None
        self.removed: dict[str, Any] | None = None
        self._factory = spec_factory(spec)
        self._client: SignalingClient | None = None
        self._peer: RoomPeer | None = None
        self._opened: float | None = None

    async def start(self) -> None:
        from bench.video_source import PreencodedVideoTrack

        self._opened = time.time()
        client = SignalingClient(self.url) if self._factory is None else SignalingClient(self.url, self._factory)
        client.listeners += [self.quality, self._removed]
        self._client = await client.connect()
        self._peer = await self._client.join(self.room, self.token, configure_subscribe_pc=self.sink.attach)
        plan = self.sends
        await self._peer.publish(PreencodedVideoTrack(plan.width, plan.height, plan.fps, plan.video_bps),
                                 PreencodedAudioTrack(plan.audio_bps))
        send_directly(self._peer.publish_pc.getTransceivers()[0].sender.transport)

    def _removed(self, message: dict[str, Any]) -> None:
        if message.get("type") == "left" and message.get("reason") and message.get("room") == self.room:
            self.removed = {"t": time.time(), "reason": message["reason"]}
            self.error = f"removed from the room by the server ({message['reason']})"

    def videos_arriving(self) -> int:
        return len(self.sink.video_ssrcs)

    def start_window(self) -> None:
        self.window = (time.time(), None)

    @property
    def join_ms(self) -> float | None:
        """WebSocket open → first video RTP packet received (a full member's ends at the first decoded frame);
        for whoever joined first, from when the other's video was offered, as `Participant.join_ms`."""
        if self._opened is None or self.sink.first_video is None:
            return None
        return (self.sink.first_video - max(self._opened, self.sink.video_offered or self._opened)) * 1000

    async def rtp_counters(self) -> dict[str, int]:
        """Media RTP packets received and lost so far, and RTP bytes received (decrypted, RTX excluded)."""
        sample = self.sink.sample()
        return {"packets_received": sample.received, "packets_lost": max(0, sample.expected - sample.received),
                "bytes_received": self.sink.bytes}

    def summary(self) -> dict[str, Any]:
        """`Participant.summary`'s keys, with no picture or sound measured (`client`: "light")."""
        self.window = (self.window[0], time.time())
        info = self._peer.track_info.values() if self._peer else []
        return {
            "room": self.room,
            "role": self.role,
            "client": "light",
            "window": list(self.window),
            "received": [{"producer_id": t["producer_id"], "kind": t["kind"], "from_role": None} for t in info],
            "quality_events": list(self.quality.events),
            "join_ms": self.join_ms,
            "video": [],
            "g2g_samples": [],
            "psnr_samples": [],
            "audio_latency_ms": [],
            "audio_marks_missing": 0,
            "audio_marks_misread": 0,
            "nacked_packets": 0,
            "plis": 0,
            "error": self.error,
            "removed": self.removed,
        }

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class LightKind(InProcessKind):
    """Members that are `LightParticipant`s in this process, each behind its role's shaped link if any."""

    def member(self, spec: MemberSpec) -> LightParticipant:
        return LightParticipant(spec)
