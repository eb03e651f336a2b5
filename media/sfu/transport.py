"""Transports: one aiortc peer connection each. A PublishTransport turns a participant's tracks into
producers; a SubscribeTransport carries consumers to a participant and renegotiates as they come and go."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import is_rtx
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from .aiortc_bridge import (
    IdleTrack,
    ReceiverTap,
    SenderPort,
    close_peer_connection,
    negotiated_codecs,
    prefer_codec,
    remote_sends,
)
from .consumer import Consumer
from .fec_sdp import FecPayloadTypes, accepted_red_ulpfec, offer_red_ulpfec
from .path_step import PathStepDetector
from .producer import Producer
from .router import Router

log = logging.getLogger(__name__)


class SdpError(ValueError):
    """An offer or answer that cannot be parsed or applied."""


#: RFC 8843 identification-tag: 1–32 token characters (RFC 4566); aiortc assumes one is there.
_MID = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`{|}~-]{1,32}$")


def check_media_ids(sdp: str) -> None:
    """Refuse (SdpError) a description whose `a=mid:` lines are empty, malformed or repeated: aiortc half-
    applies such an offer and then fails to close the connection."""
    seen: set[str] = set()
    for line in sdp.splitlines():
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:"):].strip()
            if not _MID.match(mid):
                raise SdpError(f"a=mid must be 1–32 token characters, not {mid[:40]!r}")
            if mid in seen:
                raise SdpError(f"a=mid:{mid} appears twice")
            seen.add(mid)


def _peer_connection() -> RTCPeerConnection:
    # No STUN or TURN servers: the SFU's candidates are its own host addresses. One transport for every
    # m-section (max-bundle, as browsers use): under aiortc's default (balanced) policy, an offer that
    # starts with two tracks of a kind left the second on a transport its BUNDLE step then stopped, so
    # the third person into a room never saw the second person's video.
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def parse_candidate(candidate: dict[str, Any] | None) -> RTCIceCandidate | None:
    """An RTCIceCandidate from its browser JSON form; None means end of candidates."""
    if candidate is None:
        return None
    line = candidate.get("candidate")
    if not isinstance(line, str):
        raise ValueError("candidate.candidate must be a string")
    if not line:
        return None
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    try:
        parsed = candidate_from_sdp(line)
    except (AssertionError, IndexError, KeyError, TypeError, ValueError):  # what aiortc's parser raises
        raise ValueError("candidate.candidate is not an ICE candidate line") from None
    parsed.sdpMid = candidate.get("sdpMid")
    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
    return parsed


class _Transport:
    def __init__(self, on_failed: Callable[[], None]) -> None:
        self.pc = _peer_connection()
        self.closed = False

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            # "closed" that we did not ask for: aiortc closes a connection by itself once ICE consent
            # or DTLS is lost. Either way the participant's media is gone.
            if self.pc.connectionState in ("failed", "closed") and not self.closed:
                on_failed()

    async def add_candidate(self, candidate: dict[str, Any] | None) -> None:
        parsed = parse_candidate(candidate)
        if parsed is not None:
            await self.pc.addIceCandidate(parsed)


class PublishTransport(_Transport):
    """The participant offers its tracks; we answer and make one producer per received track."""

    def __init__(self, router: Router, owner_id: str, on_failed: Callable[[], None]) -> None:
        super().__init__(on_failed)
        self.router = router
        self.owner_id = owner_id
        self.producers: dict[str, Producer] = {}  # mid -> producer
        self.taps: dict[str, ReceiverTap] = {}  # mid -> what the publisher's link looks like from here
        self.rtt_s: Callable[[], float | None] = lambda: None
        #: bounds the REMB sent to the publisher (an uplink governor's loss-based limit); None: no bound
        self.remb_cap: Callable[[], int | None] = lambda: None
        #: raises the REMB sent to the publisher while its path shows no queue (an uplink governor's
        #: budget for it: a delay-based estimate falling below that without a queue is noise); None: none
        self.remb_floor: Callable[[], int | None] = lambda: None
        #: told when the publisher's packets show its path changed (path_step.py); None: not watched
        self.on_path_step: Callable[[], None] | None = None

    async def handle_offer(self, sdp: str) -> tuple[str, list[Producer], list[Producer]]:
        """Apply an offer; return (answer SDP, producers added, producers removed)."""
        check_media_ids(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            answer = await self.pc.createAnswer()
        except Exception as exc:  # aiortc raises ValueError, KeyError, AssertionError… on bad SDP
            raise SdpError(str(exc) or type(exc).__name__) from exc
        added: list[Producer] = []
        removed: list[Producer] = []
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid
            receiving = transceiver.direction in ("recvonly", "sendrecv") and remote_sends(transceiver)
            if mid in self.producers and not receiving:
                producer = self.producers.pop(mid)
                self.taps.pop(mid, None)
                producer.close()
                removed.append(producer)
            elif mid not in self.producers and receiving:
                codecs = [c for c in negotiated_codecs(transceiver) if not is_rtx(c)]
                if not codecs:
                    continue
                holder: list[Producer] = []

                def on_rtp(packet: Any, arrival: int, holder: list[Producer] = holder) -> None:
                    holder[0].receive_rtp(packet, arrival)

                def on_sr(ssrc: int, ntp: int, rtp: int, holder: list[Producer] = holder) -> None:
                    holder[0].on_sender_report(ssrc, ntp, rtp)

                tap = ReceiverTap(transceiver.receiver, on_rtp, on_sr, remb_cap=lambda: self.remb_cap(),
                                  remb_floor=lambda: self.remb_floor())
                self.taps[mid] = tap
                if self.on_path_step is not None:
                    tap.path_step = PathStepDetector(self._path_stepped)
                producer = self.router.create_producer(
                    self.owner_id, transceiver.kind, codecs[0], tap, rtt_s=lambda: self.rtt_s()
                )
                holder.append(producer)
                self.producers[mid] = producer
                added.append(producer)
        try:
            await self.pc.setLocalDescription(answer)
        except Exception as exc:
            raise SdpError(str(exc) or type(exc).__name__) from exc
        return self.pc.localDescription.sdp, added, removed

    def _path_stepped(self) -> None:
        if self.on_path_step is not None:
            self.on_path_step()

    async def close(self) -> None:
        """Idempotent: closes the producers and the peer connection."""
        if self.closed:
            return
        self.closed = True
        for producer in self.producers.values():
            producer.close()
        self.producers.clear()
        await close_peer_connection(self.pc)


@dataclass
class _Slot:
    consumer: Consumer
    transceiver: Any
    port: SenderPort


class SubscribeTransport(_Transport):
    """We offer the participant one sendonly m-section per consumer, renegotiating as sources change."""

    def __init__(self, router: Router, subscriber_id: str, on_failed: Callable[[], None],
                 on_change: Callable[[], None], offer_fec: bool = False) -> None:
        """`offer_fec`: offer RED and ULPFEC on video, so a weak link's video can be protected."""
        super().__init__(on_failed)
        self.offer_fec = offer_fec
        self._fec_types: FecPayloadTypes | None = None  # chosen by the first offer, kept by the next ones
        self.router = router
        self.subscriber_id = subscriber_id
        self._slots: dict[str, _Slot] = {}  # consumer id -> slot
        self._on_change = on_change
        #: told of every consumer this transport creates (the subscriber's stream allocator listens)
        self.on_consume: list[Callable[[Consumer, Producer], None]] = []
        self.offer_pending = False
        self.dirty = False

    def consume(self, producer: Producer) -> Consumer:
        """The consumer of `producer` for this subscriber: a new one, or the one it already has (a join
        during a publisher's offer sees the new producer both in the room and in the publish reply)."""
        for slot in self._slots.values():
            if slot.consumer.producer_id == producer.id and not slot.consumer.closed:
                return slot.consumer
        transceiver = self.pc.addTransceiver(IdleTrack(producer.kind), direction="sendonly")
        prefer_codec(transceiver, producer.codec)
        port = SenderPort(transceiver.sender)
        port.label(producer.owner_id, producer.id)
        # A paused producer forwards nothing; its resume restarts this consumer at a keyframe.
        consumer = self.router.create_consumer(producer, self.subscriber_id, port)
        self._slots[consumer.id] = _Slot(consumer, transceiver, port)
        consumer.on_close.append(lambda: self._consumer_closed(consumer.id))
        for listener in self.on_consume:
            listener(consumer, producer)
        self._changed()
        return consumer

    def _consumer_closed(self, consumer_id: str) -> None:
        slot = self._slots.pop(consumer_id, None)
        if slot is None or self.closed:
            return
        slot.transceiver.direction = "inactive"
        asyncio.ensure_future(slot.transceiver.sender.stop())  # RTCP BYE: the subscriber's track ends
        self._changed()

    def _changed(self) -> None:
        self.dirty = True
        self._on_change()

    async def create_offer(self) -> tuple[str, dict[str, Consumer]]:
        """A new offer covering every current consumer; returns (SDP, {mid: consumer})."""
        self.dirty = False
        self.offer_pending = True
        await self.pc.setLocalDescription(await self.pc.createOffer())
        tracks = {slot.transceiver.mid: slot.consumer for slot in self._slots.values()}
        sdp = self.pc.localDescription.sdp
        if self.offer_fec:
            sdp, self._fec_types = offer_red_ulpfec(sdp, self._fec_types)
        return sdp, tracks

    async def handle_answer(self, sdp: str) -> None:
        self.offer_pending = False
        check_media_ids(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise SdpError(str(exc) or type(exc).__name__) from exc
        accepted = accepted_red_ulpfec(sdp) if self.offer_fec else {}
        for slot in self._slots.values():
            # once a consumer sends RED it keeps it (its numbering includes FEC packets); the next answer
            # lists it again, as an answer keeps the codecs of the last one
            if slot.port.fec_types is None:
                slot.port.fec_types = accepted.get(slot.transceiver.mid)

    def rtt_s(self) -> float | None:
        rtts = [slot.port.rtt for slot in self._slots.values() if slot.port.rtt is not None]
        return min(rtts) if rtts else None

    async def close(self) -> None:
        """Idempotent: closes the consumers and the peer connection."""
        if self.closed:
            return
        self.closed = True
        for slot in list(self._slots.values()):
            slot.consumer.close()
        self._slots.clear()
        await close_peer_connection(self.pc)
