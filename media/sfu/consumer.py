"""A Consumer: one subscriber's view of one source, forwarded encoded through that subscriber's sender.

The consumer owns the subscriber-side numbering (SSRC, sequence numbers, timestamps). Its source can be
switched — the producer's original stream, or later a transcoded tier of it — without renegotiation:
the subscriber keeps seeing one continuous stream, restarted at a keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from .aiortc_bridge import ReportBlock, SenderPort
from .fec_port import FecPort
from .keyframe import keyframe_detector
from .nack import NackedShare, RetransmitGate, seq_newer
from .packet_cache import PacketCache
from .rtp_writer import RtpWriter, abs_send_time_now
from .vp8_picture_id import PictureIdRewriter

if TYPE_CHECKING:
    from .router import Router

log = logging.getLogger(__name__)

#: While waiting for a keyframe, ask again this often (a PLI can be lost too).
KEYFRAME_RETRY_S = 1.0
#: A packet older than this (behind the newest one sent) would reach the subscriber too late to be played:
#: it is not resent. Chromium waits up to 3 s for a missing video frame before asking for a keyframe
#: (its frame buffer's max wait); NetEq plays audio within a few hundred milliseconds.
MAX_RESEND_AGE_S = {"video": 3.0, "audio": 0.25}
#: How far behind the newest packet forwarded the start of the current epoch is kept. Packets from before
#: it (the old source's stragglers after a switch) are never forwarded or resent. Sequence numbers wrap at
#: 65,536: a start left where it began would look newer than every packet from 32,768 on (11 minutes of
#: audio), and the consumer would drop them all.
EPOCH_WINDOW_PACKETS = 0x4000
#: A video packet refused for want of budget is given up (and a keyframe sent instead) only when the
#: subscriber still asks for it this long after the first refusal: Chromium NACKs a gap at once, before the
#: FEC packet of its group (which spans at most 200 ms) can repair it, and the budget refills meanwhile.
REFUSED_WAIT_S = 0.3


class RetransmitBudget(Protocol):
    """A subscriber's allowance for resends, shared by all its consumers (media/adaptive's estimate
    sets it); without one, resends are limited only per packet."""

    def take(self, nbytes: int, kind: str) -> bool: ...


class Source(Protocol):
    """What a consumer forwards from: a producer, or (later) a transcoded tier of one."""

    id: str
    kind: str
    codec: RTCRtpCodecParameters
    clock_rate: int
    cache: PacketCache
    sender_report: tuple[int, int] | None
    paused: bool

    def request_keyframe(self) -> None: ...


@dataclass
class ConsumerStats:
    packets: int = 0
    bytes: int = 0
    dropped_waiting_keyframe: int = 0
    nacked: int = 0
    retransmitted: int = 0
    retransmits_suppressed: int = 0
    retransmits_too_old: int = 0
    retransmits_over_budget: int = 0
    #: NACKs for packets sent before a keyframe we sent since: the keyframe repairs the picture
    retransmits_superseded: int = 0
    #: keyframes asked of the source because a lost packet would not be resent (see `_unrepairable`)
    keyframes_for_loss: int = 0
    #: packets of a switch's first keyframe sent once more (`repeat_next_keyframe`)
    keyframe_packets_repeated: int = 0
    keyframe_repeat_bytes: int = 0
    retransmitted_bytes: int = 0
    #: distinct packets resent at least once (each was lost on the subscriber's link)
    repaired: int = 0
    #: sequence numbers skipped because the packet never reached us (lost upstream): the subscriber's
    #: receiver reports count them as lost, though its own link lost nothing
    unsent: int = 0
    probe_bytes: int = 0
    #: ULPFEC packets sent (in RED), and their bytes with RTP header
    fec_packets: int = 0
    fec_bytes: int = 0
    keyframe_requests: int = 0
    remb_bps: int | None = None
    #: the streams the latest REMB covers (Chromium: all of a connection's; aiortc: one receiver's)
    remb_ssrcs: tuple[int, ...] = ()
    fraction_lost: int = 0
    #: from the subscriber's latest receiver report for this stream
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    reports: int = 0


class Consumer:
    def __init__(self, router: Router, consumer_id: str, subscriber_id: str, source: Source, port: SenderPort) -> None:
        self.router = router
        self.id = consumer_id
        self.subscriber_id = subscriber_id
        self.source = source
        #: the producer this consumer shows, whichever of its renditions it forwards now
        self.producer_id = source.id
        self.kind = source.kind
        self.port = port
        self.paused = False
        self.closed = False
        self.stats = ConsumerStats()
        self.on_close: list[Callable[[], None]] = []
        #: called after each REMB or receiver report from the subscriber (the link estimator listens)
        self.on_feedback: Callable[[Consumer], None] | None = None
        self.retransmit_budget: RetransmitBudget | None = None
        self._is_keyframe = keyframe_detector(source.codec.mimeType)
        self._writer: RtpWriter | None = None
        self._gate = RetransmitGate()
        #: which of the packets sent lately the subscriber NACKed (the link estimator reads it)
        self.nacked_share = NackedShare()
        self._needs_keyframe = True
        self._epoch_start: int | None = None  # where the current epoch began (at most EPOCH_WINDOW_PACKETS back)
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_out_seq: int | None = None
        self._last_out_ts = 0
        self._last_out_time = 0.0
        self._rtx_seq = random.getrandbits(16)
        self._sr_seen: tuple[int, int] | None = None
        self._keyframe_asked_at = 0.0
        self._marking_keyframe = False  # a keyframe was asked for: note where the next one goes out
        self._keyframe_sent: tuple[int, float] | None = None  # (its first sequence number, when)
        self._repeat_after: float | None = None  # send the next switch's keyframe again this long after it
        self._repeating: list[tuple[int, int, int]] | None = None  # its packets: (sequence sent, source's, timestamp sent)
        self._refused: dict[int, float] = {}  # sequence number -> when a resend was first refused for budget
        self._pictures = PictureIdRewriter() if source.codec.mimeType.lower() == "video/vp8" else None
        self._last_payload: bytes | None = None  # as last sent: where a switch continues picture ids from
        port.on_nack = self._on_nack
        port.on_keyframe_request = self._on_pli
        port.on_remb = self._on_remb
        port.on_receiver_report = self._on_receiver_report

    # -- forwarding -------------------------------------------------------------------------------

    def send_rtp(self, packet: RtpPacket, abs_send_time: bytes) -> None:
        if self.paused:
            return
        writer = self._writer
        if writer is None:
            if not self.port.ready.is_set():
                return
            writer = self._writer = RtpWriter(
                self.port.payload_type or 0,
                self.port.ssrc,
                self.port.mid,
                self.port.mid_ext_id,
                self.port.abs_send_time_ext_id,
            )
            self._keyframe_asked_at = 0.0  # requests made before the subscriber connected may be long gone
        seq = packet.sequence_number
        if self._needs_keyframe:
            if not self._is_keyframe(packet.payload):
                self.stats.dropped_waiting_keyframe += 1
                now = time.monotonic()
                if now - self._keyframe_asked_at > KEYFRAME_RETRY_S:
                    self._keyframe_asked_at = now
                    self.source.request_keyframe()
                return
            self._start_epoch(packet)
            if self._repeat_after is not None:
                self._repeating = []
        elif seq != self._epoch_start and not seq_newer(seq, self._epoch_start):
            return  # from before this epoch: the subscriber never saw its neighbours
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        if self._last_out_seq is not None and seq_newer(self._last_out_seq, out_seq):
            self.stats.unsent -= 1  # a late packet fills a gap counted below
        if self._last_out_seq is None or seq_newer(out_seq, self._last_out_seq):
            if self._last_out_seq is not None:
                self.stats.unsent += (out_seq - self._last_out_seq - 1) & 0xFFFF
            if (seq - self._epoch_start) & 0xFFFF > EPOCH_WINDOW_PACKETS:  # type: ignore[operator]
                self._epoch_start = (seq - EPOCH_WINDOW_PACKETS) & 0xFFFF
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
            self._last_out_time = time.monotonic()
        sr = self.source.sender_report
        if sr is not self._sr_seen:
            self._sr_seen = sr
            if sr is not None:
                self.port.set_sender_report_reference(sr[0], (sr[1] + self._ts_offset) & 0xFFFFFFFF)
        payload = packet.payload
        if self._marking_keyframe and self._is_keyframe(payload):
            self._marking_keyframe = False
            self._keyframe_sent = (out_seq, time.monotonic())
        if self._pictures is not None and self._pictures.active:
            payload = self._pictures.rewrite(payload)
        self._last_payload = payload
        try:
            self.port.send(writer.write(packet.marker, out_seq, out_ts, payload, abs_send_time), len(payload))
        except ConnectionError:
            return
        self.stats.packets += 1
        self.stats.bytes += len(payload)
        if self._repeating is not None:
            self._collect_repeat(seq, out_seq, out_ts, packet.marker)

    @property
    def sent_seq(self) -> int | None:
        """The sequence number (as the subscriber sees it) of the newest packet sent; None before any."""
        return self._last_out_seq

    def repeat_next_keyframe(self, after_s: float) -> None:
        """Send the keyframe the next switch starts with once more, `after_s` after it, on the RTX stream.
        At a flood's cut it goes into a drop-tail queue still full of the old stream's packets; dropped
        there, the picture stayed frozen until the next keyframe (measured: 2.4 s at a 3G → 2G step). Sent
        again once the queue has drained, it gets through; a subscriber that has it already discards the
        copy. Like FEC it is counted as sent but not taken from the resend allowance: at a 2G estimate that
        holds less than one full-size video packet (914 bytes at 130 kbit/s), so the copy could never pass."""
        self._repeat_after = after_s if self.kind == "video" and self.port.rtx_payload_type is not None else None

    def _collect_repeat(self, seq: int, out_seq: int, out_ts: int, marker: bool) -> None:
        repeating = self._repeating
        assert repeating is not None and self._repeat_after is not None
        if repeating and out_ts != repeating[0][2]:
            marker = True  # the next picture began: the keyframe was the packets before
        else:
            repeating.append((out_seq, seq, out_ts))
        if marker:
            asyncio.get_running_loop().call_later(self._repeat_after, self._repeat, self.source, repeating)
            self._repeating = self._repeat_after = None

    def _repeat(self, source: Source, packets: list[tuple[int, int, int]]) -> None:
        writer = self._writer
        if self.closed or self.paused or source is not self.source or writer is None or self.port.rtx_payload_type is None:
            return
        for out_seq, seq, out_ts in packets:
            packet = source.cache.get(seq)
            if packet is None:
                continue
            data = self._resend_data(writer, packet, out_seq, out_ts)
            try:
                self.port.resend(data)
            except ConnectionError:
                return
            self.stats.keyframe_packets_repeated += 1
            self.stats.keyframe_repeat_bytes += len(data)

    def _start_epoch(self, packet: RtpPacket) -> None:
        """Begin forwarding at this packet, continuing the subscriber's numbering without a gap."""
        self._needs_keyframe = False
        self._epoch_start = packet.sequence_number
        if self._pictures is not None:
            self._pictures.restart(self._last_payload, packet.payload)
        if self._last_out_seq is None:
            self._seq_offset = (random.getrandbits(16) - packet.sequence_number) & 0xFFFF
            self._ts_offset = (random.getrandbits(32) - packet.timestamp) & 0xFFFFFFFF
        else:
            next_seq = (self._last_out_seq + 1) & 0xFFFF
            self._seq_offset = (next_seq - packet.sequence_number) & 0xFFFF
            elapsed = max(time.monotonic() - self._last_out_time, 0.001)
            next_ts = (self._last_out_ts + int(elapsed * self.source.clock_rate)) & 0xFFFFFFFF
            self._ts_offset = (next_ts - packet.timestamp) & 0xFFFFFFFF
        self._sr_seen = None

    # -- control ----------------------------------------------------------------------------------

    def _on_pli(self) -> None:
        log.debug("%s %s: keyframe asked by subscriber", self.kind, self.id)
        self.request_keyframe()

    def request_keyframe(self) -> None:
        self.stats.keyframe_requests += 1
        self._keyframe_asked_at = time.monotonic()
        self._marking_keyframe = self.kind == "video"
        self.source.request_keyframe()

    def restart(self) -> None:
        """Resume at the next keyframe (after a pause, or a source change)."""
        self._needs_keyframe = True
        self.request_keyframe()

    def switch_source(self, source: Source) -> None:
        """Forward from another source (same codec) from its next keyframe on; no renegotiation."""
        if source is self.source:
            return
        self.router.move_consumer(self, source)
        self.source = source
        self.restart()

    def protect(self) -> FecPort | None:
        """Send this consumer's packets inside RED, with ULPFEC at the returned port's `rate`, from now on
        (and for good: the numbers on the wire then include the FEC packets). None where the subscriber did
        not accept RED and ULPFEC. A consumer never protected keeps its plain per-packet path."""
        if isinstance(self.port, FecPort):
            return self.port
        types = self.port.fec_types
        if types is None or self.kind != "video":
            return None
        self.port = FecPort(self.port, types, self._fec_sent)  # type: ignore[assignment]
        return self.port

    def protected_port(self) -> FecPort | None:
        """The port protecting this consumer, if `protect` installed one."""
        return self.port if isinstance(self.port, FecPort) else None

    def _fec_sent(self, nbytes: int) -> None:
        self.stats.fec_packets += 1
        self.stats.fec_bytes += nbytes

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.restart()

    def close(self) -> None:
        """Idempotent: detaches from the router and tells whoever holds this consumer."""
        if self.closed:
            return
        self.closed = True
        self.router.consumer_closed(self)
        for callback in self.on_close:
            callback()
        self.on_close.clear()

    # -- feedback from the subscriber ----------------------------------------------------------------

    def _on_nack(self, lost: list[int]) -> None:
        writer = self._writer
        if writer is None or self._epoch_start is None:
            return
        rtt = self.port.rtt
        now = time.monotonic()
        max_age = int(MAX_RESEND_AGE_S.get(self.kind, 1.0) * self.source.clock_rate)
        since = self._keyframe_sent
        if since is not None and now - since[1] > MAX_RESEND_AGE_S["video"]:
            since = self._keyframe_sent = None  # what it superseded is too old to be asked for now
        if len(self._refused) > 256:
            self._refused.clear()  # a flood of refusals: their wait starts again, nothing more is lost
        for out_seq in lost:
            self.stats.nacked += 1
            # before any check: a flood's NACKs come after the switch it causes, for the old epoch's packets
            self.nacked_share.nacked(out_seq)
            seq = (out_seq - self._seq_offset) & 0xFFFF
            if seq != self._epoch_start and not seq_newer(seq, self._epoch_start):
                continue
            if since is not None and seq_newer(since[0], out_seq):
                self.stats.retransmits_superseded += 1
                continue
            packet = self.source.cache.get(seq)
            if packet is None:
                continue  # lost before it reached us: the publisher may still repair it
            out_ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
            age = (self._last_out_ts - out_ts) & 0xFFFFFFFF
            if max_age < age < 0x80000000:
                self.stats.retransmits_too_old += 1
                self._unrepairable(out_seq, "too old")
                continue
            attempt = self._gate.allow(out_seq, rtt, now)
            if not attempt:
                self.stats.retransmits_suppressed += 1
                if self._gate.gave_up(out_seq, rtt, now):
                    self._unrepairable(out_seq, "out of tries")
                continue
            if self.retransmit_budget is not None:
                if not self.retransmit_budget.take(len(packet.payload), self.kind):
                    self.stats.retransmits_over_budget += 1
                    if self.kind == "video" and now - self._refused.setdefault(out_seq, now) >= REFUSED_WAIT_S:
                        self._unrepairable(out_seq, "over budget")
                    continue
                self._refused.pop(out_seq, None)
            data = self._resend_data(writer, packet, out_seq, out_ts)
            try:
                self.port.resend(data)
            except ConnectionError:
                return
            self.stats.retransmitted += 1
            self.stats.repaired += attempt == 1
            self.stats.retransmitted_bytes += len(data)

    def _resend_data(self, writer: RtpWriter, packet: RtpPacket, out_seq: int, out_ts: int) -> bytes:
        """A packet sent before, written again as the subscriber saw it: on the RTX stream where negotiated."""
        payload = packet.payload
        if self._pictures is not None and self._pictures.active:
            payload = self._pictures.rewrite(payload)
        if self.port.rtx_payload_type is None:
            return writer.write(packet.marker, out_seq, out_ts, payload, b"\x00\x00\x00")
        data = writer.write_rtx(
            self.port.rtx_payload_type, self.port.rtx_ssrc, self._rtx_seq, out_seq, packet.marker, out_ts, payload
        )
        self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        return data

    def _unrepairable(self, out_seq: int, why: str) -> None:
        """A lost video packet will not be resent (too old, out of tries or out of budget): the subscriber's
        picture stays frozen until a keyframe, and Chromium asks for one only after waiting 3 s for the
        frame (measured on 2G: 3.8–4.0 s freezes). A keyframe now repairs it in a round trip, and on a low
        tier costs less than the burst of resends a congested link refused."""
        if self.kind != "video" or time.monotonic() - self._keyframe_asked_at < KEYFRAME_RETRY_S:
            return
        log.debug("%s: packet %d not resent (%s): keyframe", self.id, out_seq, why)
        self.stats.keyframes_for_loss += 1
        self.request_keyframe()

    def send_probe(self, nbytes: int) -> int:
        """Send about `nbytes` of padding on the retransmission stream (a bandwidth probe the subscriber
        discards); returns the bytes sent, 0 where no RTX stream was negotiated."""
        writer = self._writer
        if writer is None or self.port.rtx_payload_type is None or nbytes <= 0:
            return 0
        sent = 0
        abs_send_time = abs_send_time_now()
        while sent < nbytes:
            data = writer.write_padding(self.port.rtx_payload_type, self.port.rtx_ssrc, self._rtx_seq,
                                        self._last_out_ts, min(255, nbytes - sent), abs_send_time)
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            try:
                self.port.resend(data)
            except ConnectionError:
                break
            sent += len(data)
        self.stats.probe_bytes += sent
        return sent

    def _on_remb(self, bitrate: int, ssrcs: list[int]) -> None:
        self.stats.remb_bps = bitrate
        self.stats.remb_ssrcs = tuple(ssrcs)
        if self.on_feedback is not None:
            self.on_feedback(self)

    def _on_receiver_report(self, report: ReportBlock) -> None:
        stats = self.stats
        stats.fraction_lost = report.fraction_lost
        stats.packets_lost = report.packets_lost
        stats.highest_sequence = report.highest_sequence
        highest: int | None = report.highest_sequence & 0xFFFF
        fec = self.protected_port()
        if fec is not None:
            highest = fec.consumer_seq(highest)  # the wire's numbers include FEC packets (None: one of them)
        if highest is not None:
            self.nacked_share.reached(highest)
        stats.jitter = report.jitter
        stats.reports += 1
        if self.on_feedback is not None:
            self.on_feedback(self)
