"""The one module that reaches into aiortc's internals (written against aiortc 1.16).

aiortc is a complete endpoint: its receivers depacketize and decode, its senders encode. An SFU needs
neither, so this module taps encoded RTP before a receiver's jitter buffer, and sends prepared RTP
through a sender's DTLS transport while its encoder loop idles. Everything that touches a private
attribute is here, so an aiortc upgrade has one file to check.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

import aioice.ice
import aioice.stun
import aiortc.rate
import pylibsrtp
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.clock import current_ms, current_ntp_time
from aiortc.codecs import get_capabilities, is_rtx
from aiortc.rtcdtlstransport import State as _DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    is_rtcp,
    pack_remb_fci,
    unpack_remb_fci,
    unwrap_rtx,
)

from .background import spawn
from .fec_sdp import FecPayloadTypes
from .path_step import PathStepDetector
from .rate_window import RateWindow

log = logging.getLogger(__name__)

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

RtpHandler = Callable[[RtpPacket, int], None]

_DTLS_CONNECTED = _DtlsState.CONNECTED


class ReportBlock(Protocol):
    """One receiver-report block about a stream we send (RFC 3550 §6.4.1), as aiortc parses it."""

    ssrc: int
    fraction_lost: int
    packets_lost: int
    highest_sequence: int
    jitter: int


def restrict_host_addresses(addresses: list[str]) -> None:
    """Gather ICE host candidates on these addresses only (aioice otherwise takes every interface but
    127.0.0.1). Process-wide: call once at start-up."""
    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(chosen)


#: A consent check waits for its answer 0.5 + 1 + 2 s (two retransmissions) instead of aioice's 0.5 s.
CONSENT_RETRANSMISSIONS = 2


def wait_longer_for_consent() -> None:
    """Let ICE consent checks (RFC 7675) survive a 2G round trip. Process-wide: call once at start-up.

    aioice sends each check once and gives up on it after 0.5 s; on a 2G link (300 ms each way, plus a
    queue) every check then fails, and after six the connection closes: the patient is dropped within
    ~30 s however well the media flows. Checks are retransmitted here, so an answer has 3.5 s to come.
    """
    connection = aioice.ice.Connection
    if getattr(connection.query_consent, "_patient", False):
        return

    async def query_consent(self: Any) -> None:
        failures = 0
        while True:
            await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * random.uniform(0.8, 1.2))
            for pair in list(self._nominated.values()):
                try:
                    await _binding_check(self, pair)
                    failures = 0
                except aioice.stun.TransactionError:
                    failures += 1
            if failures >= aioice.ice.CONSENT_FAILURES:
                log.info("ICE consent expired: no answer to %d checks", failures)
                self._query_consent_task = None
                await self.close()
                return

    query_consent._patient = True  # type: ignore[attr-defined]
    connection.query_consent = query_consent  # type: ignore[method-assign]


async def _binding_check(connection: aioice.ice.Connection, pair: Any) -> None:
    """One ICE connectivity check on `pair` (a STUN binding request), retransmitted up to
    CONSENT_RETRANSMISSIONS times; raises aioice's TransactionError if unanswered."""
    await pair.protocol.request(
        connection.build_request(pair, nominate=False), pair.remote_addr,
        integrity_key=connection.remote_password.encode("utf8"), retransmissions=CONSENT_RETRANSMISSIONS,
    )


def compact_rate_windows() -> None:
    """Give aiortc's REMB estimators a window the garbage collector need not walk (`RateWindow`).
    Process-wide: call once at start-up, before any peer connection exists."""
    aiortc.rate.RateCounter = RateWindow  # type: ignore[misc]


async def close_peer_connection(pc: Any) -> None:
    """`pc.close()`, also for a connection a malformed offer left half-built: aiortc gives such a transceiver
    no transport and its own close then raises half-way, leaving the other transports (and their sockets)
    open. Here every transport that exists is stopped, and the connection counts as closed."""
    try:
        await pc.close()
        return
    except AttributeError:
        pass
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None:
            await dtls.stop()
            await dtls.transport.stop()
    pc.remove_all_listeners()
    closed = pc._RTCPeerConnection__isClosed
    if closed is not None and not closed.done():
        closed.set_result(True)


def received_packets(pc: Any) -> int:
    """Datagrams received so far on a peer connection's DTLS transports (a sign that the peer lives)."""
    total = 0
    for transceiver in pc.getTransceivers():
        if transceiver.receiver.transport is not None:  # none on a transceiver a bad offer left half-built
            total += transceiver.receiver.transport._RTCDtlsTransport__rx_packets
    return total


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs negotiated on a transceiver, in preference order (set once an answer exists)."""
    return list(transceiver._codecs)


def remote_sends(transceiver: RTCRtpTransceiver) -> bool:
    """Whether the remote side's last offer sends media on this transceiver."""
    # aiortc stores the direction it must take in answer: "recvonly" when the remote sends.
    return getattr(transceiver, "_offerDirection", None) in ("recvonly", "sendrecv")


def prefer_codec(transceiver: RTCRtpTransceiver, codec: RTCRtpCodecParameters) -> None:
    """Offer only `codec` (and its RTX) on a server-created transceiver."""
    wanted: list[RTCRtpCodecCapability] = []
    for cap in get_capabilities(transceiver.kind).codecs:
        if cap.mimeType.lower() == codec.mimeType.lower() and (
            codec.mimeType.lower() != "video/h264" or _same_h264(cap.parameters, codec.parameters)
        ):
            wanted.append(cap)
            break
    if not wanted:
        raise ValueError(f"cannot send {codec.mimeType}")
    wanted += [cap for cap in get_capabilities(transceiver.kind).codecs if is_rtx(cap)]
    transceiver.setCodecPreferences(wanted)


def _same_h264(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("packetization-mode") == b.get("packetization-mode") and str(
        a.get("profile-level-id", ""))[:4].lower() == str(b.get("profile-level-id", ""))[:4].lower()


class IdleTrack(MediaStreamTrack):
    """A track whose recv() never returns: it keeps an aiortc sender's encoder loop asleep (no wake-ups)
    while the SFU writes RTP to the sender's transport itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never: asyncio.Future[None] = asyncio.get_event_loop().create_future()

    async def recv(self) -> Any:
        await self._never
        raise asyncio.CancelledError  # pragma: no cover - the future is never resolved


def intercept_rtp_data(dtls_transport: Any, handler: Callable[[bytes, int], None]) -> None:
    """Route every decrypted RTP datagram of a DTLS transport to `handler(data, arrival_time_ms)`,
    before aiortc parses it, from the socket's callback once the transport is up. For load generators
    that only count packets."""

    async def first_packets(data: bytes, arrival_time_ms: int) -> None:
        receive_directly(dtls_transport, handler)
        handler(data, arrival_time_ms)

    dtls_transport._handle_rtp_data = first_packets


def send_directly(dtls_transport: Any) -> None:
    """Send a DTLS transport's RTP (not its RTCP) straight to the nominated pair's socket, whoever sends
    it: for load generators, whose aiortc senders write every packet through `_send_rtp`."""
    original = dtls_transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        if is_rtcp(data) or not _send_direct(dtls_transport, data):
            await original(data)

    dtls_transport._send_rtp = send_rtp


def receive_directly(dtls: Any, deliver: Callable[[bytes, int], None] | None = None) -> None:
    """Hand the transport's incoming SRTP packets, decrypted, to `deliver(data, arrival_time_ms)` from the
    socket's callback, as aiortc's receive loop would after a queue and three coroutine layers (aioice's
    `datagram_received` first tries each one as STUN and raises, then queues it for the DTLS transport's
    task). By default they are parsed and routed to their receivers as aiortc does. RTCP, DTLS and STUN
    keep aiortc's path. Idempotent; does nothing until the transport's SRTP keys exist."""
    if dtls is None or dtls._rx_srtp is None or getattr(dtls, "_vaidya_deliver", None) is not None:
        return
    # read per packet, so a test can put a fault between the socket and the SFU (tests/helpers/faults.py)
    dtls._vaidya_deliver = deliver if deliver is not None else _router_of(dtls)
    for protocol in dtls.transport._connection._protocols:
        if type(protocol) is aioice.ice.StunProtocol:
            protocol.datagram_received = _direct_datagram_handler(dtls, protocol.datagram_received)


def _router_of(dtls: Any) -> Callable[[bytes, int], None]:
    """Parse and route a decrypted packet as aiortc's `_handle_rtp_data` does, to the receiver's SFU tap."""
    extensions = dtls._rtp_header_extensions_map
    route = dtls._rtp_router.route_rtp

    def deliver(data: bytes, arrival_time_ms: int) -> None:
        try:
            packet = RtpPacket.parse(data, extensions)
        except ValueError:
            return  # as aiortc does: a packet that fails to parse is dropped
        receiver = route(packet)
        if receiver is None:
            return
        receive = getattr(receiver, "_vaidya_receive", None)
        if receive is not None:
            receive(packet, arrival_time_ms)
        else:
            spawn(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))

    return deliver


def _direct_datagram_handler(dtls: Any, original: Callable[[bytes, Any], None]) -> Callable[[bytes, Any], None]:
    srtp = dtls._rx_srtp

    def datagram_received(data: bytes, addr: Any) -> None:
        # RTP: first byte 128-191 (version 2), second byte not an RTCP packet type (192-223, RFC 5761)
        if len(data) < 12 or not 127 < data[0] < 192 or 191 < data[1] < 224 or dtls._state is not _DTLS_CONNECTED:
            original(data, addr)
            return
        dtls._RTCDtlsTransport__rx_bytes += len(data)
        dtls._RTCDtlsTransport__rx_packets += 1
        arrival_time_ms = current_ms()
        try:
            data = srtp.unprotect(data)
        except pylibsrtp.Error:
            return  # as aiortc does: a packet that fails to decrypt is dropped
        try:
            dtls._vaidya_deliver(data, arrival_time_ms)
        except Exception:  # a bug in one packet's handling must not close the socket it came from
            log.exception("an RTP packet could not be handled")

    return datagram_received


def fast_min_frame_period(estimator: Any) -> None:
    """aiortc's delay-based estimator takes the minimum of its last 60 frame intervals in a Python loop for
    every frame of every publisher (about 3 % of a loaded server's CPU); `min()` over the same list gives
    the same value in C."""
    overuse = getattr(estimator, "estimator", None)
    if overuse is None or not isinstance(getattr(overuse, "ts_delta_hist", None), list):
        return
    history: list[float] = overuse.ts_delta_hist

    def update_min_frame_period(ts_delta: float) -> float:
        if len(history) >= aiortc.rate.MIN_FRAME_PERIOD_HISTORY_LENGTH:
            del history[0]
        smallest = min(history, default=ts_delta)
        history.append(ts_delta)
        return ts_delta if ts_delta < smallest else smallest

    overuse.update_min_frame_period = update_min_frame_period


class ReceiverTap:
    """Takes RTP packets from an aiortc receiver before depacketizing, jitter buffering and decoding.

    Keeps what a receiver owes its sender: receiver-report statistics, REMB estimates, RTX unwrapping.
    Sender reports from the publisher are passed on so subscribers can keep lip sync. `remb_cap`, when
    given, bounds the REMB sent upstream (the estimator is delay-based and blind to loss); `remb_floor`
    raises it (the estimator fell while the path showed no queue); the cap wins. What it sees of
    the publisher's link is readable: `remb_bps`, `bytes_received`, `packet_counts()`, `queue_s`.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        on_rtp: RtpHandler,
        on_sender_report: Callable[[int, int, int], None],
        remb_cap: Callable[[], int | None] | None = None,
        remb_floor: Callable[[], int | None] | None = None,
    ) -> None:
        self._receiver = receiver
        self._on_rtp = on_rtp
        self._on_sender_report = on_sender_report
        self._remb_cap = remb_cap
        self._remb_floor = remb_floor
        self.kind: str = receiver._RTCRtpReceiver__kind
        #: the estimator's latest estimate of the publisher's link (bit/s), before any cap
        self.remb_bps: int | None = None
        #: the latest REMB actually sent upstream (bit/s)
        self.remb_sent_bps: int | None = None
        #: RTP payload and padding bytes received, retransmissions included
        self.bytes_received = 0
        self._codecs: dict[int, RTCRtpCodecParameters] = {}
        self._rtx_ssrc: dict[int, int] = {}
        self._streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams
        self._estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator
        #: watches the publisher's one-way delay for a change of its path (None: not watched)
        self.path_step: PathStepDetector | None = None
        self.media_ssrc: int | None = None

        original_receive = receiver.receive
        original_rtcp = receiver._handle_rtcp_packet

        async def receive(parameters: Any) -> None:
            for codec in parameters.codecs:
                self._codecs[codec.payloadType] = codec
            for encoding in parameters.encodings:
                if encoding.rtx:
                    self._rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
            await original_receive(parameters)

        async def handle_rtcp(packet: Any) -> None:
            if isinstance(packet, RtcpSrPacket):
                info = packet.sender_info
                self._on_sender_report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
            await original_rtcp(packet)

        receiver.receive = receive  # type: ignore[method-assign]
        receiver._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
        # RTP goes to the SFU instead of the jitter buffer and decoder: the first packets through aiortc's
        # receive loop, then (once the transport is up) straight from the socket's callback.
        receiver._handle_rtp_packet = self._handle_rtp_packet  # type: ignore[method-assign]
        receiver._vaidya_receive = self.receive  # type: ignore[attr-defined]
        fast_min_frame_period(self._estimator)

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        receive_directly(self._receiver.transport)
        self.receive(packet, arrival_time_ms)

    def receive(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """One RTP packet from the publisher, decrypted and parsed."""
        codec = self._codecs.get(packet.payload_type)
        if codec is None or not self._receiver._enabled:
            return
        stream = self._streams.get(packet.ssrc)
        if stream is None:
            stream = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        self.bytes_received += len(packet.payload) + packet.padding_size

        if self.path_step is not None and packet.extensions.abs_send_time is not None:
            self.path_step.add(packet.extensions.abs_send_time, arrival_time_ms)
        if self._estimator is not None and packet.extensions.abs_send_time is not None:
            remb = self._estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = self._receiver._RTCRtpReceiver__rtcp_ssrc
            if remb is not None and rtcp_ssrc is not None:
                bitrate, ssrcs = remb
                self.remb_bps = bitrate
                floor = self._remb_floor() if self._remb_floor is not None else None
                if floor is not None:
                    bitrate = max(bitrate, floor)
                cap = self._remb_cap() if self._remb_cap is not None else None
                if cap is not None:
                    bitrate = min(bitrate, cap)
                self.remb_sent_bps = bitrate
                spawn(self._receiver._send_rtcp(
                    RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs))
                ))

        if is_rtx(codec):
            original_ssrc = self._rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in self._codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        elif self.media_ssrc is None:
            self.media_ssrc = packet.ssrc
        if not packet.payload:
            return  # padding-only probe
        self._on_rtp(packet, arrival_time_ms)

    @property
    def queue_s(self) -> float | None:
        """The standing queue on the publisher's path (`PathStepDetector.queue_s`); None if not watched."""
        return None if self.path_step is None else self.path_step.queue_s

    def packet_counts(self) -> tuple[int, int]:
        """(expected, received) media packets so far, from sequence numbers; repairs (RTX) not counted,
        so the difference is what the publisher's link lost."""
        expected = received = 0
        for ssrc, stream in self._streams.items():
            if ssrc not in self._rtx_ssrc and stream.max_seq is not None:
                expected += stream.packets_expected
                received += stream.packets_received
        return expected, received

    async def send_pli(self) -> None:
        if self.media_ssrc is not None:
            await self._receiver._send_rtcp_pli(self.media_ssrc)

    async def send_nack(self, lost: list[int]) -> None:
        if self.media_ssrc is not None and lost:
            await self._receiver._send_rtcp_nack(self.media_ssrc, lost)


def _send_direct(dtls: Any, data: bytes) -> bool:
    """Protect and send one RTP packet straight to the socket of the nominated ICE pair, as aiortc's
    `_send_rtp` would through four coroutine layers (DTLS transport, ICE transport, aioice's `send`,
    `sendto`, `send_data`): the forwarding path's largest avoidable cost per packet. Returns False where
    that path does something more than a plain datagram (a TURN relay wraps the data), so the caller takes
    aiortc's own path; raises ConnectionError as aiortc does when the transport is not connected."""
    if dtls._state is not _DTLS_CONNECTED:
        raise ConnectionError("Cannot send encrypted RTP, not connected")
    pair = dtls.transport._connection._nominated.get(1)
    route = dtls.__dict__.get("_vaidya_route")
    if route is None or route[0] is not pair:
        if pair is None or type(pair.protocol) is not aioice.ice.StunProtocol:
            return False
        route = dtls._vaidya_route = (pair, pair.remote_addr)  # the property builds a tuple per call
    socket = pair.protocol.transport
    if socket is None:
        return False
    protected = dtls._tx_srtp.protect(data)
    socket.sendto(protected, route[1])
    dtls._RTCDtlsTransport__tx_bytes += len(protected)
    dtls._RTCDtlsTransport__tx_packets += 1
    return True


class SenderPort:
    """Writes prepared RTP through an aiortc sender's DTLS transport and routes the subscriber's RTCP
    feedback (NACK, PLI/FIR, REMB, receiver reports) to the SFU instead of an encoder."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self.ssrc: int = sender._ssrc
        self.rtx_ssrc: int = sender._rtx_ssrc
        self.payload_type: int | None = None
        self.rtx_payload_type: int | None = None
        self.mid_ext_id = 0
        self.abs_send_time_ext_id = 0
        self.mid: str | None = None
        #: RED and ULPFEC as the subscriber's answer accepted them (None: not offered, or refused)
        self.fec_types: FecPayloadTypes | None = None
        self.ready = asyncio.Event()
        self.on_nack: Callable[[list[int]], None] | None = None
        self.on_keyframe_request: Callable[[], None] | None = None
        self.on_remb: Callable[[int, list[int]], None] | None = None
        self.on_receiver_report: Callable[[ReportBlock], None] | None = None
        self.clock_rate = 90000
        self._reference: tuple[int, int] | None = None  # (NTP, RTP) of the source, in our timestamp space
        self._sr_sent: dict[int, float] = {}  # LSR (middle 32 bits of an SR's NTP) -> when we sent it
        self._rtt: float | None = None
        #: the latest single round-trip measurement, unsmoothed: (when, seconds)
        self.last_rtt_sample: tuple[float, float] | None = None
        self._original_rtcp = sender._handle_rtcp_packet
        original_send = sender.send
        original_send_rtcp = sender._send_rtcp

        async def send_rtcp(packets: list[Any]) -> None:
            for packet in packets:
                if isinstance(packet, RtcpSrPacket) and packet.ssrc == self.ssrc:
                    self._stamp_sender_report(packet)
            await original_send_rtcp(packets)

        async def send(parameters: Any) -> None:
            self._configure(parameters)
            await original_send(parameters)
            self.ready.set()

        sender.send = send  # type: ignore[method-assign]
        sender._send_rtcp = send_rtcp  # type: ignore[method-assign]
        sender._handle_rtcp_packet = self._handle_rtcp_packet  # type: ignore[method-assign]

    def _configure(self, parameters: Any) -> None:
        primary = parameters.codecs[0]
        self.payload_type = primary.payloadType
        self.clock_rate = primary.clockRate
        for codec in parameters.codecs:
            if is_rtx(codec) and codec.parameters.get("apt") == primary.payloadType:
                self.rtx_payload_type = codec.payloadType
        for ext in parameters.headerExtensions:
            if ext.uri == MID_URI:
                self.mid_ext_id = ext.id
            elif ext.uri == ABS_SEND_TIME_URI:
                self.abs_send_time_ext_id = ext.id
        self.mid = parameters.muxId

    def label(self, stream_id: str, track_id: str) -> None:
        """Name the stream and track the subscriber sees in its SDP (msid): participant and producer."""
        self._sender._stream_id = stream_id
        self._sender._track_id = track_id

    @property
    def rtt(self) -> float | None:
        """Round-trip time to the subscriber, from its receiver reports (seconds)."""
        return self._rtt

    async def ping(self) -> float | None:
        """One round trip to the subscriber (seconds), measured with an ICE connectivity check on the
        nominated pair: the STUN binding request that consent freshness (RFC 7675) sends every ~5 s, here
        when the SFU wants a sample sooner. Retransmitted as consent checks are, so a 2G round trip with a
        queue is still answered; timed from the first send. None if unanswered or not connected."""
        try:
            connection = self._sender.transport.transport._connection
            pair = connection._nominated.get(1)
            password = connection.remote_password
        except AttributeError:
            return None
        if pair is None or not password:
            return None
        start = time.monotonic()
        try:
            await _binding_check(connection, pair)
        except (aioice.stun.TransactionError, ConnectionError, OSError):
            return None
        return time.monotonic() - start

    def send(self, data: bytes, payload_size: int) -> None:
        sender = self._sender
        if not _send_direct(sender.transport, data):
            spawn(sender.transport._send_rtp(data))
        sender._RTCRtpSender__packet_count += 1
        sender._RTCRtpSender__octet_count += payload_size

    def resend(self, data: bytes) -> None:
        if not _send_direct(self._sender.transport, data):
            spawn(self._sender.transport._send_rtp(data))

    def set_sender_report_reference(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """The NTP ↔ RTP mapping our sender reports carry: the publisher's, in our timestamp space."""
        self._reference = (ntp_timestamp, rtp_timestamp)

    def _stamp_sender_report(self, packet: RtcpSrPacket) -> None:
        """Date a sender report now, on the publisher's NTP ↔ RTP line, and remember when it left.

        aiortc would send the reference itself in every report: reports with one NTP time look alike to
        the subscriber, whose receiver reports then echo one we cannot tell from the others, and aiortc's
        round trip came out short, even negative. Each report dated now is unique, so the round trip is
        the time since that very report, less the subscriber's delay (RFC 3550 §6.4.1)."""
        if self._reference is None:
            return  # no mapping yet: nothing to date, and no round trip from it
        ref_ntp, ref_rtp = self._reference
        ntp = current_ntp_time()
        info = packet.sender_info
        info.ntp_timestamp = ntp
        info.rtp_timestamp = (ref_rtp + round((ntp - ref_ntp) * self.clock_rate / (1 << 32))) & 0xFFFFFFFF
        self._sr_sent[(ntp >> 16) & 0xFFFFFFFF] = time.monotonic()
        while len(self._sr_sent) > 16:
            del self._sr_sent[next(iter(self._sr_sent))]

    def _measure_rtt(self, report: Any) -> None:
        sent = self._sr_sent.get(report.lsr)
        if sent is None or not report.dlsr:
            return
        now = time.monotonic()
        sample = now - sent - report.dlsr / 65536
        if sample > 0:
            self.last_rtt_sample = (now, sample)
            self._rtt = sample if self._rtt is None else 0.85 * self._rtt + 0.15 * sample

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            await self._original_rtcp(packet)  # keeps aiortc's stats
            for report in packet.reports:
                if report.ssrc == self.ssrc:
                    self._measure_rtt(report)
                    if self.on_receiver_report:
                        self.on_receiver_report(report)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            if self.on_nack:
                self.on_nack(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            if self.on_keyframe_request:
                self.on_keyframe_request()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self.ssrc in ssrcs and self.on_remb:
                self.on_remb(bitrate, ssrcs)
