"""A synthetic consultation participant: a real aiortc client that sends like a phone and measures.

It connects with the project's `SignalingClient`, joins its room, publishes pre-encoded stamped video
and marked Opus sized for its link (`MediaPlan`), and measures what it receives: join time (WebSocket
open → first decoded frame), video through a `VideoProbe`, audio through a `MarkDetector`, RTP packets
and loss per media SSRC, the NACKs and PLIs it sends, bytes received from aiortc's transport stats, and
the server's `quality` events (`bench.tiers.QualityLog`). Its identity is `ROLE-INDEX`, so a receiver
knows which role sent a stream and therefore its source size (what that role's plan sends).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from bench.audio_marks import MarkDetector, PreencodedAudioTrack, to_mono
from bench.forward import StreamCount
from bench.measure import VideoProbe
from bench.profiles import LinkProfile
from bench.stall_breaker import StallBreaker, jitter_buffer_of
from bench.stamp import STAMP_PERIOD_MS
from bench.tiers import QualityLog
from media.sfu.aiortc_bridge import negotiated_codecs
from signaling.client import RoomPeer, SignalingClient

AUDIO_WIRE_OVERHEAD_BPS = 50 * 90 * 8
#: A full participant answers a keyframe request within a quarter second, as a browser does within a
#: frame or two (bench.video_source): a server starting a transcoder waited up to a second for one.
KEYFRAME_PHASES = 4


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


@dataclass(frozen=True)
class MediaPlan:
    """What a phone on a given link sends: picture size, frame rate, video and audio bitrates."""

    width: int
    height: int
    fps: int
    video_bps: int
    audio_bps: int

    @classmethod
    def for_link(cls, profile: LinkProfile) -> MediaPlan:
        """Video gets 70 % of the link minus what the audio takes on the wire, within the size's range.

        Audio on the wire is far more than its codec rate: 50 packets/s each carry ~90 bytes of RTP,
        SRTP and IP/UDP overhead (36 kbit/s), so 16 kbit/s Opus costs ~52 kbit/s of a 2G link.
        """
        rate = profile.rate_bps
        if rate is not None and rate <= 200_000:
            audio = 16_000
            return cls(160, 90, 15, _clamp(int(rate * 0.7) - audio - AUDIO_WIRE_OVERHEAD_BPS, 30_000, 100_000), audio)
        if rate is not None and rate <= 1_000_000:
            audio = 16_000
            return cls(320, 180, 15, _clamp(int(rate * 0.7) - audio - AUDIO_WIRE_OVERHEAD_BPS, 100_000, 300_000), audio)
        return cls(640, 360, 15, 500_000, 32_000)

    @property
    def counter_modulus(self) -> int:
        """Frames in one pre-encoded loop: where the stamp counter of this plan's video wraps."""
        return STAMP_PERIOD_MS * self.fps // 1000

    def describe(self) -> str:
        return (f"VP8 {self.width}x{self.height} {self.fps} fps {self.video_bps // 1000} kbit/s, "
                f"Opus mono {self.audio_bps // 1000} kbit/s (pre-encoded)")


class Participant:
    """One synthetic patient, doctor or hub specialist in one room."""

    def __init__(
        self,
        url: str,
        room: str,
        token: str,
        role: str,
        plans: dict[str, MediaPlan],
        peer_connection_factory: Callable[[], RTCPeerConnection] | None = None,
    ) -> None:
        """`plans`: what each role sends (this one's own included): a received stream's source size."""
        self.url, self.room, self.token, self.role = url, room, token, role
        self.plans = plans
        self.sends = plans[role]
        self.quality = QualityLog()
        #: producer id → the role that publishes it
        self.sources: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.window: tuple[float, float | None] = (time.time(), None)
        #: producer id → probe of that received track
        self.video: dict[str, VideoProbe] = {}
        self.audio: dict[str, MarkDetector] = {}
        #: producer id → participant id of its sender
        self.senders: dict[str, str] = {}
        self.nacked_packets = 0
        self.plis = 0
        self._rtp: dict[int, StreamCount] = {}
        self.error: str | None = None
        #: when and why the server removed this participant from its room (`left` with a reason), if it did
        self.removed: dict[str, Any] | None = None
        self._factory = peer_connection_factory
        self._client: SignalingClient | None = None
        self._peer: RoomPeer | None = None
        self._opened: float | None = None
        self._first_frame: float | None = None
        self._offered: float | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Connect, join and publish; receiving starts whenever the server offers others' tracks."""
        from bench.video_source import PreencodedVideoTrack, answer_keyframe_requests

        plan = self.sends
        # its loops are encoded once per process (~1 s each at 360p): off the event loop, before the join is timed
        video = await asyncio.to_thread(
            PreencodedVideoTrack, plan.width, plan.height, plan.fps, plan.video_bps, KEYFRAME_PHASES
        )
        self._opened = time.time()
        client = SignalingClient(self.url) if self._factory is None else SignalingClient(self.url, self._factory)
        client.listeners += [self.quality, self._removed]
        self._client = await client.connect()
        self._peer = await self._client.join(self.room, self.token)
        self._peer.on_track = self._on_track
        await self._peer.publish(video, PreencodedAudioTrack(plan.audio_bps))
        answer_keyframe_requests(self._peer.publish_pc, video)

    def _removed(self, message: dict[str, Any]) -> None:
        """The server removing this participant (`connection_failed`, `media_timeout`, `replaced`) ends its
        consultation while its client may still look connected: a failure of the run, said so."""
        if message.get("type") == "left" and message.get("reason") and message.get("room") == self.room:
            self.removed = {"t": time.time(), "reason": message["reason"]}
            self.error = f"removed from the room by the server ({message['reason']})"

    def _sender_role(self, participant_id: Any) -> str:
        """The bench role of the participant publishing a track (from its identity, `ROLE-INDEX`)."""
        peer = self._peer
        known = list(peer.joined.get("participants", [])) if peer else []
        known += [e.get("participant", {}) for e in (peer.events if peer else []) if e.get("type") == "participant-joined"]
        for participant in known:
            if participant.get("participant_id") == participant_id:
                role = str(participant.get("identity", "")).rsplit("-", 1)[0]
                if role in self.plans:
                    return role
        return self.role

    def _on_track(self, track: MediaStreamTrack, info: dict[str, Any]) -> None:
        producer = str(info.get("producer_id", id(track)))
        self.sources[producer] = self._sender_role(info.get("participant_id"))
        self.senders[producer] = str(info.get("participant_id", ""))
        self.kinds[producer] = track.kind
        if track.kind == "video":
            if self._offered is None:
                self._offered = time.time()
            self.video[producer] = self._video_probe(producer)
        else:
            self.audio[producer] = MarkDetector()
        self._count_feedback()
        self._tasks.append(asyncio.ensure_future(self._consume(track, producer)))

    def _video_probe(self, producer: str) -> VideoProbe:
        source = self.plans[self.sources.get(producer, self.role)]
        return VideoProbe((source.width, source.height), counter_modulus=source.counter_modulus)

    def _count_feedback(self) -> None:
        """Count RTP packets per media SSRC (loss before repair) and the NACKs and PLIs sent back.

        aiortc keeps no NACK/PLI counters, and its inbound-rtp stats report one SSRC per receiver (the
        RTX stream's once retransmissions flow), so this wraps `RTCRtpReceiver._handle_rtp_packet`,
        `_send_rtcp_nack` and `_send_rtcp_pli` on each receiver instance: the one place bench/
        touches aiortc internals (aiortc 1.16). Video receivers also get a `StallBreaker`: like a
        browser, they ask for a keyframe and move on to it when a frame can never be completed.
        """
        pc = self._peer.subscribe_pc if self._peer else None
        for transceiver in pc.getTransceivers() if pc else []:
            receiver = transceiver.receiver
            if getattr(receiver, "_bench_counted", False):
                continue
            receiver._bench_counted = True
            handle, send_nack, send_pli = receiver._handle_rtp_packet, receiver._send_rtcp_nack, receiver._send_rtcp_pli
            rtx_types: set[int] = set()
            breaker = StallBreaker(jitter_buffer_of(receiver)) if transceiver.kind == "video" else None

            async def rtp(packet: Any, arrival_time_ms: int, handle: Any = handle, transceiver: Any = transceiver,
                          rtx_types: set[int] = rtx_types, breaker: StallBreaker | None = breaker,
                          receiver: Any = receiver) -> None:
                if not rtx_types:
                    rtx_types.update(c.payloadType for c in negotiated_codecs(transceiver)
                                     if c.mimeType.lower().endswith("/rtx"))
                if packet.payload_type not in rtx_types:
                    self._rtp.setdefault(packet.ssrc, StreamCount()).add(packet.sequence_number)
                await handle(packet, arrival_time_ms)
                if breaker is not None and (ssrc := breaker.after_packet(time.monotonic() * 1000)) is not None:
                    await receiver._send_rtcp_pli(ssrc)

            async def nack(media_ssrc: int, lost: list[int], send_nack: Any = send_nack) -> None:
                self.nacked_packets += len(lost)
                await send_nack(media_ssrc, lost)

            async def pli(media_ssrc: int, send_pli: Any = send_pli) -> None:
                self.plis += 1
                await send_pli(media_ssrc)

            receiver._handle_rtp_packet = rtp
            receiver._send_rtcp_nack, receiver._send_rtcp_pli = nack, pli

    async def _consume(self, track: MediaStreamTrack, producer: str) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.time()
                if track.kind == "video":
                    if self._first_frame is None:
                        self._first_frame = now
                    self.video[producer].frame(frame, now)  # type: ignore[arg-type]
                else:
                    self.audio[producer].feed(to_mono(frame), now)  # type: ignore[arg-type]
        except MediaStreamError:
            pass
        except Exception as exc:  # noqa: BLE001 - a measuring failure is reported, not raised into aiortc
            self.error = f"{type(exc).__name__}: {exc}"

    def videos_arriving(self) -> int:
        return sum(1 for probe in self.video.values() if probe.frames)

    def start_window(self) -> None:
        """Measure afresh from now: joining and start-up are judged by join time, not by these metrics."""
        self.video = {producer: self._video_probe(producer) for producer in self.video}
        self.audio = {producer: MarkDetector() for producer in self.audio}
        self.nacked_packets = self.plis = 0
        self.window = (time.time(), None)

    @property
    def join_ms(self) -> float | None:
        """WebSocket open → first decoded frame; for whoever joined first, from when the other party's
        video was offered (waiting for the other to arrive is not the system's time)."""
        if self._opened is None or self._first_frame is None:
            return None
        start = max(self._opened, self._offered or self._opened)
        return (self._first_frame - start) * 1000

    async def rtp_counters(self) -> dict[str, int]:
        """Media RTP packets received and lost (before NACK repair) so far, and transport bytes received."""
        received = sum(c.received for c in self._rtp.values())
        expected = sum(c.highest - c.first + 1 for c in self._rtp.values() if c.highest is not None and c.first is not None)
        totals = {"packets_received": received, "packets_lost": max(0, expected - received), "bytes_received": 0}
        pc = self._peer.subscribe_pc if self._peer else None
        if pc is not None:
            for stats in (await pc.getStats()).values():
                if getattr(stats, "type", None) == "transport":
                    totals["bytes_received"] += stats.bytesReceived
        return totals

    def summary(self) -> dict[str, Any]:
        """Everything measured since `start_window`, as plain data (the window closes now)."""
        self.window = (self.window[0], time.time())
        marks = [m for detector in self.audio.values() for m in detector.marks]
        return {
            "room": self.room,
            "role": self.role,
            "window": list(self.window),
            "received": [{"producer_id": p, "kind": kind, "from_role": self.sources.get(p)}
                         for p, kind in self.kinds.items()],
            "quality_events": list(self.quality.events),
            "join_ms": self.join_ms,
            "video": [{"producer_id": producer, **probe.summary()} for producer, probe in self.video.items()],
            "g2g_samples": [ms for probe in self.video.values() for ms in probe.latency_ms],
            "psnr_samples": [db for probe in self.video.values() for db in probe.psnr_db],
            "audio_latency_ms": [m.latency_ms for m in marks],
            "audio_marks_missing": sum(detector.missing() for detector in self.audio.values()),
            "audio_marks_misread": sum(detector.misread for detector in self.audio.values()),
            "nacked_packets": self.nacked_packets,
            "plis": self.plis,
            "error": self.error,
            "removed": self.removed,
        }

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._client is not None:
            await self._client.close()
