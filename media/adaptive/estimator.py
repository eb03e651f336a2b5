"""A subscriber's downlink: how many bits per second it carries now, from what its browser tells us and
what we send it.

Chromium sends REMB (a delay-based estimate) and receiver reports. Measured here (shared/architecture.md),
REMB falls fast when a queue builds but is blind to loss, never exceeds ~1.5× what it receives and rises
by a few percent a second. So the estimate is loss-based, after Google Congestion Control's loss
controller, and REMB acts only as a fast-falling ceiling:

- loss above `HIGH_LOSS` over the last `LOSS_WINDOW_S`: cut to the sent rate × (1 − loss / 2);
- loss below `LOW_LOSS`: grow by `GROWTH_PER_S`, but never above `HEADROOM` × what we sent (a link is
  only known to carry what it was given) unless a probe has shown more;
- in between: hold;
- REMB falling below `DELAY_DROP` × its peak of the last `DELAY_WINDOW_S` is a queue building: the estimate
  is cut to the sent rate × the fall.

Retransmissions and probes count as sent. Every time constant is a class attribute, documented in
docs/adaptive.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class StreamReport:
    """Cumulative counters from one stream's latest receiver report."""

    packets_lost: int
    highest_sequence: int


class LinkEstimator:
    #: Loss that means congestion, and loss low enough to grow on (GCC: 10 % and 2 %).
    HIGH_LOSS = 0.10
    LOW_LOSS = 0.02
    #: Loss is counted over this window of receiver reports (per-report fractions swing 0–97 %).
    LOSS_WINDOW_S = 1.0
    #: Growth per second while loss is low (GCC's 8 %).
    GROWTH_PER_S = 0.08
    #: The estimate stays within this multiple of the rate actually sent, unless a probe proved more.
    HEADROOM = 1.5
    #: REMB falling to this share of its recent level (or of the sent rate) marks a building queue.
    DELAY_DROP = 0.85
    DELAY_WINDOW_S = 2.0
    #: What a link is assumed to carry before any feedback: the original streams are sent until told
    #: otherwise, so this only bounds the first decisions.
    INITIAL_BPS = 1_000_000
    #: A probe's proof lasts this long: without traffic to confirm it, a proven rate decays to the cap.
    PROBE_PROOF_S = 5.0
    MIN_BPS = 20_000

    def __init__(self, now: float) -> None:
        self.estimate_bps: float = self.INITIAL_BPS
        self.remb_bps: int | None = None
        self.sent_bps: float = 0.0
        self.loss: float = 0.0
        self.congested = False
        self.congested_at = -1e9
        self._reports: dict[int, deque[tuple[float, int, int]]] = {}  # ssrc -> (t, lost, expected)
        self._rembs: deque[tuple[float, int]] = deque()
        self._last_tick = now
        self._sent: deque[tuple[float, int]] = deque([(now, 0)])  # (t, cumulative bytes on the wire)
        self._proven_bps = 0.0
        self._proven_at = -1e9
        self._have_feedback = False

    # -- inputs -----------------------------------------------------------------------------------

    def on_remb(self, bps: int, now: float) -> None:
        self.remb_bps = bps
        self._rembs.append((now, bps))
        while self._rembs and now - self._rembs[0][0] > self.DELAY_WINDOW_S:
            self._rembs.popleft()
        self._have_feedback = True

    def on_report(self, ssrc: int, report: StreamReport, now: float) -> None:
        history = self._reports.setdefault(ssrc, deque())
        history.append((now, report.packets_lost, report.highest_sequence))
        while len(history) > 2 and now - history[1][0] >= self.LOSS_WINDOW_S:
            history.popleft()
        self._have_feedback = True

    def on_sent(self, total_bytes: int, now: float) -> None:
        """The cumulative bytes sent to this subscriber (media, retransmissions, probes, with overhead)."""
        self._sent.append((now, total_bytes))
        while len(self._sent) > 2 and now - self._sent[1][0] >= self.LOSS_WINDOW_S:
            self._sent.popleft()

    def probe_succeeded(self, bps: float, now: float) -> None:
        """A probe carried `bps` without loss or a building queue: the link is known to carry it."""
        self._proven_bps = bps
        self._proven_at = now
        self.estimate_bps = max(self.estimate_bps, bps)

    # -- the estimate -----------------------------------------------------------------------------

    def window_loss(self) -> float:
        lost = expected = 0
        for history in self._reports.values():
            if len(history) >= 2:
                lost += history[-1][1] - history[0][1]
                expected += history[-1][2] - history[0][2]
        return max(0.0, min(1.0, lost / expected)) if expected > 0 else 0.0

    def queue_drop(self) -> float:
        """How far REMB has fallen below its level of the last `DELAY_WINDOW_S` (1.0: not at all).

        Scale-free on purpose: a REMB covers the streams it lists (Chromium: the whole connection; aiortc:
        one receiver), so only its movement, not its level against what we send, says a queue is building.
        """
        if self.remb_bps is None or not self._rembs:
            return 1.0
        peak = max(b for _, b in self._rembs)
        return self.remb_bps / peak if peak > 0 else 1.0

    def update(self, now: float) -> float:
        """Advance to `now` (call a few times a second); returns the estimate in bit/s."""
        dt = max(0.0, now - self._last_tick)
        self._last_tick = now
        (t0, b0), (t1, b1) = self._sent[0], self._sent[-1]
        if t1 - t0 >= 0.2:
            self.sent_bps = (b1 - b0) * 8 / (t1 - t0)
        if not self._have_feedback:
            return self.estimate_bps
        self.loss = self.window_loss()
        drop = self.queue_drop()
        queue = drop < self.DELAY_DROP
        estimate = self.estimate_bps
        if self.loss > self.HIGH_LOSS:
            estimate = min(estimate, max(self.sent_bps, self.MIN_BPS) * (1 - self.loss / 2))
        elif self.loss < self.LOW_LOSS and not queue:
            ceiling = self.HEADROOM * self.sent_bps
            if now - self._proven_at < self.PROBE_PROOF_S:
                ceiling = max(ceiling, self._proven_bps)
            if estimate < ceiling:  # sending far less than the estimate holds it: nothing new is known
                estimate = min(ceiling, estimate * (1 + self.GROWTH_PER_S) ** dt)
        if queue:  # the link carries about what we sent, less what REMB has fallen by
            estimate = min(estimate, max(self.sent_bps, self.MIN_BPS) * drop)
        self.congested = self.loss > self.HIGH_LOSS or queue
        if self.congested:
            self.congested_at = now
        self.estimate_bps = max(float(self.MIN_BPS), estimate)
        return self.estimate_bps

    def stable_for(self, now: float) -> float:
        """Seconds since the link last showed congestion."""
        return now - self.congested_at
