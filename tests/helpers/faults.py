"""Faults injected where a real network would put them: into the RTP a client's DTLS transport receives
(after SRTP, so the server's packets are real and only their delivery is disturbed) or sends."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Fault:
    """What happens to each packet: lost (independently, or in bursts of mean length `burst`), held
    back behind the next one (reordered), or delivered twice."""

    loss: float = 0.0
    burst: float = 1.0
    reorder: float = 0.0
    duplicate: float = 0.0


class FaultyReceive:
    """Applies a `Fault` to the RTP packets arriving at one client's DTLS transport. Counts what it did."""

    def __init__(self, dtls, fault: Fault, seed: int = 7) -> None:
        self.fault = fault
        self.dropped = self.passed = self.reordered = self.duplicated = 0
        self._random = random.Random(seed)
        self._bad = False  # Gilbert model: in a loss burst
        self._held: tuple[bytes, int] | None = None
        self._original = dtls._handle_rtp_data
        dtls._handle_rtp_data = self._handle
        # a server's transport hands packets to the SFU from the socket's callback (aiortc_bridge.receive_directly)
        self._direct = getattr(dtls, "_vaidya_deliver", None)
        if self._direct is not None:
            dtls._vaidya_deliver = self._handle_direct

    def _lost(self) -> bool:
        f = self.fault
        if f.burst <= 1:
            return self._random.random() < f.loss
        # stationary share of the bad state = loss; a burst lasts `burst` packets on average
        leave_bad = 1.0 / f.burst
        enter_bad = f.loss * leave_bad / (1.0 - f.loss)
        self._bad = self._random.random() >= leave_bad if self._bad else self._random.random() < enter_bad
        return self._bad

    def _deliveries(self, data: bytes, arrival_time_ms: int) -> list[tuple[bytes, int]]:
        """What reaches the receiver now, in order, for one packet off the wire."""
        if self._lost():
            self.dropped += 1
            return []
        self.passed += 1
        if self._held is None and self._random.random() < self.fault.reorder:
            self._held = (data, arrival_time_ms)  # released after the next packet: one swap
            self.reordered += 1
            return []
        out = [(data, arrival_time_ms)]
        if self._random.random() < self.fault.duplicate:
            self.duplicated += 1
            out.append((data, arrival_time_ms))
        if self._held is not None:
            out.append(self._held)
            self._held = None
        return out

    async def _handle(self, data: bytes, arrival_time_ms: int) -> None:
        for packet, arrival in self._deliveries(data, arrival_time_ms):
            await self._original(packet, arrival_time_ms=arrival)

    def _handle_direct(self, data: bytes, arrival_time_ms: int) -> None:
        for packet, arrival in self._deliveries(data, arrival_time_ms):
            self._direct(packet, arrival)


class SendCut:
    """Cuts what one client's DTLS transport sends, from a chosen moment: the network vanished."""

    def __init__(self, dtls) -> None:
        self.cut = False
        self.sent_after_cut = 0
        original = dtls._send_rtp

        async def send(data: bytes) -> None:
            if self.cut:
                self.sent_after_cut += 1
                return
            await original(data)

        dtls._send_rtp = send
