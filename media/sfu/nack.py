"""Loss repair without storms, in both directions.

Upstream, `NackScheduler` asks the publisher for each missing packet at most once per round trip and a
few times in all (aiortc's own generator re-requests the whole missing set on every new gap).
Downstream, `RetransmitGate` lets a packet be resent to a subscriber at most once per round trip and
twice in all (Chromium repeats its NACK for one lost packet ~50 times under congestion: on a lossy,
congested link unbounded resends amplify the congestion that caused the loss).
"""

from __future__ import annotations

import time

DEFAULT_RTT_S = 0.1
MIN_INTERVAL_S = 0.02


def repeat_interval(rtt_s: float | None) -> float:
    """How long to wait before asking for, or resending, the same packet again: a round trip and a bit."""
    return max((rtt_s or DEFAULT_RTT_S) * 1.2, MIN_INTERVAL_S)


def seq_newer(a: int, b: int) -> bool:
    """True when sequence number `a` comes after `b` (16-bit wrap-around)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class NackScheduler:
    """Tracks gaps in a publisher's sequence numbers and says which to request now."""

    def __init__(self, max_missing: int = 256, max_tries: int = 3, give_up_s: float = 1.0) -> None:
        self._max_missing = max_missing
        self._max_tries = max_tries
        self._give_up_s = give_up_s
        self._highest: int | None = None
        # seq -> [first seen missing, last requested, tries]
        self._missing: dict[int, list[float]] = {}

    def add(self, seq: int, rtt_s: float | None, now: float | None = None) -> list[int]:
        """Record an arrived packet; return the sequence numbers due for a NACK now."""
        now = time.monotonic() if now is None else now
        if self._highest is None:
            self._highest = seq
            return []
        if seq_newer(seq, self._highest):
            gap = (seq - self._highest) & 0xFFFF
            if gap > self._max_missing:  # a jump, not loss: start afresh
                self._missing.clear()
            else:
                for missing in range(self._highest + 1, self._highest + gap):
                    self._missing[missing & 0xFFFF] = [now, 0.0, 0]
            self._highest = seq
        else:
            self._missing.pop(seq, None)
        if not self._missing:
            return []
        interval = repeat_interval(rtt_s)
        due = []
        for missing, entry in list(self._missing.items()):
            if now - entry[0] > self._give_up_s or entry[2] >= self._max_tries:
                del self._missing[missing]
            elif now - entry[1] >= interval:
                entry[1] = now
                entry[2] += 1
                due.append(missing)
        while len(self._missing) > self._max_missing:
            self._missing.pop(next(iter(self._missing)))
        return due


class RetransmitGate:
    """Allows a resend of a packet to one subscriber at most once per round trip and `max_tries` times."""

    def __init__(self, capacity: int = 1024, max_tries: int = 2) -> None:
        self._sent: dict[int, list[float]] = {}  # seq -> [last resend time, resends]
        self._capacity = capacity
        self._max_tries = max_tries

    def allow(self, seq: int, rtt_s: float | None, now: float | None = None) -> int:
        """0 when the packet may not be resent now, else which try this is (1 for its first resend)."""
        now = time.monotonic() if now is None else now
        interval = repeat_interval(rtt_s)
        entry = self._sent.get(seq)
        if entry is not None:
            if entry[1] >= self._max_tries or now - entry[0] < interval:
                return 0
            entry[0] = now
            entry[1] += 1
            return int(entry[1])
        self._sent[seq] = [now, 1]
        if len(self._sent) > self._capacity:
            for old in list(self._sent)[: self._capacity // 2]:
                del self._sent[old]
        return 1

    def gave_up(self, seq: int, rtt_s: float | None, now: float | None = None) -> bool:
        """True when `seq` has had all its tries and is asked for again a round trip after the last one:
        that resend was lost too, and no more will come."""
        entry = self._sent.get(seq)
        if entry is None or entry[1] < self._max_tries:
            return False
        now = time.monotonic() if now is None else now
        return now - entry[0] >= repeat_interval(rtt_s)


class NackedShare:
    """Which of a subscriber's recent packets it asked for again: the loss on its link as it happens.

    Receiver reports count loss over a second and more, and Chromium counts a packet it got resent as
    received: at a 3G → 2G step they showed 11–18 % while the subscriber NACKed 50–85 % of the packets. A
    NACK names each lost packet a round trip after it was sent.
    """

    #: `share(after=…)` says nothing until the subscriber has seen this many packets after the mark.
    MIN_AFTER = 10

    def __init__(self, capacity: int = 512) -> None:
        self._nacked: dict[int, None] = {}  # distinct sequence numbers NACKed, oldest first
        self._capacity = capacity
        self._newest: int | None = None  # the newest NACKed, or reported received, sequence number

    def nacked(self, seq: int) -> None:
        """The subscriber asked for `seq` (a packet we sent it); asking again changes nothing."""
        if seq in self._nacked:
            return
        self._nacked[seq] = None
        if len(self._nacked) > self._capacity:
            del self._nacked[next(iter(self._nacked))]
        self.reached(seq)

    def reached(self, seq: int) -> None:
        """The subscriber has seen the stream up to `seq` (a NACK for it, or a receiver report's highest)."""
        if self._newest is None or seq_newer(seq, self._newest):
            self._newest = seq

    def share(self, span: int, after: int | None = None) -> float:
        """The share of the `span` packets up to the newest the subscriber has seen that it NACKed; with
        `after`, of those sent after that sequence number only (0 until it has seen `MIN_AFTER` of them)."""
        newest = self._newest
        if newest is None or span <= 0:
            return 0.0
        if after is not None:
            since = (newest - after) & 0xFFFF
            if since >= 0x8000 or since < self.MIN_AFTER:
                return 0.0
            span = min(span, since)
        return sum(1 for seq in self._nacked if ((newest - seq) & 0xFFFF) < span) / span
