"""A subscriber's downlink: how many bits per second it carries now, from what its browser tells us and
what we send it.

Chromium sends REMB (a delay-based estimate) and receiver reports. Measured here (shared/architecture.md),
REMB falls fast when a queue builds but is blind to loss, never exceeds ~1.5× what it receives and rises
by a few percent a second. So the estimate is loss-based, after Google Congestion Control's loss
controller, and REMB only confirms that a queue is building:

- loss above `HIGH_LOSS` over the last `LOSS_WINDOW_S` (counting packets we repaired as lost: they were
  lost on the link): cut to what got through, the sent rate × (1 − loss) but at most by half, at most
  once per `CUT_HOLD_S` (the reports after a cut still describe packets sent before it), and from the most
  sent in the last `CAUSE_S` (what caused the loss, not what is sent after moving down);
- otherwise, with no queue building: grow by `GROWTH_PER_S`, but never above `HEADROOM` × what we sent
  (a link is only known to carry what it was given) unless a probe has shown more;
- REMB below `DELAY_DROP` × the payload rate we sent on the streams it covers, in `DELAY_REMBS` reports in
  a row, is a queue building. A receiver's estimator (Chromium's and aiortc's alike) backs off to
  `REMB_BACKOFF` (0.85) × what it *receives* at every overuse it detects, even a spurious one; only a REMB
  well below that share of what we *sent* says that less arrives than leaves. The estimate is then cut to
  what arrives: the sent rate × REMB ÷ (0.85 × the covered rate). aiortc's REMB wanders far below what it
  receives on clean links (37 kbit/s for a 60 kbit/s stream on a 1.5 Mbit/s link, measured here), so a fall
  counts only with some loss beside it (`QUEUE_LOSS`) or when it is severe (`SEVERE_DROP`). A fall cuts
  once: after its cut a REMB that stays low holds the estimate (no growth), and cuts again only when it
  falls further (`REMB_FALLS_AGAIN`). And a REMB fall is no queue at all while our own round trips sit at
  a settled base (`QUIET_RTT_S`, `BASE_SETTLED_S`). After a link step Chromium's REMB stayed where it fell
  for 10 s and more while the link carried four times as much; cut again and again on that stale figure,
  the estimate fell below what the lowest video tier needs and video paused for 13–14 s (measured).

- round trips (from our sender reports and the subscriber's receiver reports) more than `QUEUE_DELAY_S`
  above the least one of the last `BASE_RTT_WINDOW_S`, in every sample of the last `QUEUE_SAMPLES` (of
  the last `LARGE_QUEUE_SAMPLES` when they stand `LARGE_QUEUE_S` above it), are a
  standing queue at the bottleneck: the link carries less than we send. A delay-based detector (REMB)
  sees a queue grow but not one that stays full, and a full drop-tail queue drops in bursts (8 % of a 2G
  patient's packets, measured) while the loss stays under `HIGH_LOSS`. The estimate is then cut to
  `QUEUE_CUT` × what we sent over the last `CAUSE_S` (at most by half). Samples must be fresh
  (`RTT_FRESH_S`), and a "queue" that does not drain within `QUEUE_PATIENCE_S` though we send half as
  much is the path's own round trip grown (a handover): it becomes the new base.

- a standing queue `LARGE_QUEUE_S` deep, or a REMB fall that cuts (or cut within `FLOOD_NACKS_LAG_S`: the
  NACKs come a round trip after it), while the subscriber NACKs at least
  `FLOOD_NACKED` of its latest video packets is a flooded link (a 3G → 2G step: 650 kbit/s into 150): the estimate drops at once to
  `lowest_picture_bps` (what the lowest video tier and low audio cost, set by the allocator), and the link
  is found again from below by growth and probes. Halving once per `CUT_HOLD_S` took 4.4 s to reach what
  the link carries, with the picture frozen all the while, and its first half landed on a tier that still
  flooded the link (measured). Neither receiver reports nor the first NACKs say how deep the flood is:
  Chromium counts a resent packet as received (11–18 % loss reported while it NACKed 50–85 % of the
  packets), and at the first sign most NACKs are still on their way (0–15 % NACKed then). With the queue
  drained (we now send far less), a "queue" still standing after `FLOOD_PATIENCE_S` is the path's own
  round trip.

- the subscriber's own uplink showing its path change (`on_path_step`: its packets' one-way delay
  stepped up and stayed, media/sfu/path_step.py) is a flood too, without waiting for NACKs: a handover
  changes both directions of a phone's link, and the NACKs for the downlink's flood cross the uplink's
  flood. Heard within `PATH_STEP_FRESH_S`, it drops the estimate to the lowest picture once, as above, but
  leaves no ceiling: nothing has shown where the downlink ends, and probes climb back if it did not change.

After any cut the link has shown where it ends (what got through of what we sent, or what left a
queue standing): for `CEILING_MEMORY_S` the estimate grows no higher than that unless a probe proves more.
Loss-based growth alone would climb straight back into the queue.

Retransmissions and probes count as sent. Every time constant is a class attribute, documented in
docs/adaptive.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple


@dataclass
class StreamReport:
    """Cumulative counters from one stream's latest receiver report, and how many distinct packets of it
    we have resent. Lost on the link is the larger of the two: a receiver that counts a repaired packet
    as received (Chromium) reports less than was lost; one that does not (aiortc) already counts it."""

    packets_lost: int
    highest_sequence: int
    resent: int = 0
    unsent: int = 0  # sequence numbers we skipped (lost before us): not the subscriber's link's loss


class _Standing(NamedTuple):
    """A standing queue as first seen: when, its delay, and the estimate and sent rate then."""

    since: float
    delay_s: float
    estimate_bps: float
    sent_bps: float


#: (bit/s, when): no ceiling known
_NO_CEILING = (float("inf"), -1e9)


class LinkEstimator:
    #: Loss that means congestion (GCC's 10 %). Below it, with no queue building, the estimate grows:
    #: unlike GCC there is no hold zone from 2 %, since rural links lose 2–5 % at random and the
    #: growth is bounded by what was sent anyway.
    HIGH_LOSS = 0.10
    #: Loss is counted over this window of receiver reports (per-report fractions swing 0–97 %; over one
    #: second, 5 % random loss at 60 packets/s reads above 10 % one window in forty).
    LOSS_WINDOW_S = 2.0
    #: One cut never takes more than half (GCC's deepest), and loss needs this many packets to count.
    MAX_CUT = 0.5
    MIN_EXPECTED = 30
    #: After a cut, the next one waits for reports about packets sent after it (a window plus a round trip).
    CUT_HOLD_S = 1.5
    #: Loss reported now was caused by what was sent up to this long ago: a cut starts from the most sent
    #: in that span, so moving down does not compound with stale reports.
    CAUSE_S = 2.0
    #: Growth per second while loss is low (GCC's 8 %).
    GROWTH_PER_S = 0.08
    #: The estimate stays within this multiple of the rate actually sent, unless a probe proved more.
    HEADROOM = 1.5
    #: REMB falling to this share of its recent level (or of the sent rate) marks a building queue.
    DELAY_DROP = 0.7
    REMB_BACKOFF = 0.85
    QUEUE_LOSS = 0.05
    SEVERE_DROP = 0.35
    #: A REMB older than this says nothing about now.
    DELAY_WINDOW_S = 2.0
    #: ... in this many REMBs in a row (one low REMB is noise: aiortc's wobbles under CPU load).
    DELAY_REMBS = 2
    #: After a cut for a low REMB, another needs REMB below this share of the figure that caused it, or
    #: first a rise above that figure ÷ this share (a wobble of a few % is no new fall).
    REMB_FALLS_AGAIN = 0.9
    #: What a link is assumed to carry before any feedback: the original streams are sent until told
    #: otherwise, so this only bounds the first decisions.
    INITIAL_BPS = 1_000_000
    #: A probe's proof lasts this long: without traffic to confirm it, a proven rate decays to the cap.
    PROBE_PROOF_S = 5.0
    #: After a failed probe, the estimate returns to this share of where it was before the probe.
    PROBE_FAIL_KEEP = 0.95
    MIN_BPS = 20_000
    #: Queueing delay (round trip above the link's own) that means a standing queue: about a third of a
    #: modest mobile buffer (250 ms), well above one full-size packet's serialization on 2G (64 ms).
    QUEUE_DELAY_S = 0.1
    #: The link's own round trip is the least measured over this window (BBR's is 10 s; longer here,
    #: since receiver reports come about once a second per stream).
    BASE_RTT_WINDOW_S = 30.0
    #: A standing queue shows in this many round-trip samples in a row (one is a keyframe's burst); one
    #: larger than a modest mobile buffer (LARGE_QUEUE_S above the base) in LARGE_QUEUE_SAMPLES. At a
    #: 3G → 2G step the round trips jump by 400 ms and more at once, and waiting for a third sample left the
    #: link flooded up to 0.5 s longer (measured); in the 3G phases of the same runs no sample stood even
    #: 200 ms above the base.
    QUEUE_SAMPLES = 3
    LARGE_QUEUE_S = 0.3
    LARGE_QUEUE_SAMPLES = 2
    #: A standing queue that has not drained to this share of its delay within QUEUE_PATIENCE_S, though
    #: we now send less than this share of what we sent when it was seen, is no queue of ours: the path's
    #: own round trip has grown, and becomes the new base.
    QUEUE_PATIENCE_S = 4.0
    QUEUE_DRAINED = 0.5
    #: A round trip below this share of the link's own, and this much shorter, is a new and shorter path
    #: (edge → 3G: 0.8 s → 0.2 s): the old path's base and ceiling are forgotten, and the allocator probes
    #: at once in big steps. Resuming video after such a handover had waited 17 s or more for probes
    #: stepping past the old link's ceiling (measured).
    SHORTER_PATH = 0.6
    SHORTER_PATH_MIN_S = 0.05
    #: ... measured against the samples from before this long: at a 2G → 3G step the round trips fell over
    #: about a second (599, 459, 201 ms), no sample 0.6 × the one before it, and the handover went unseen
    #: (measured).
    SHORTER_PATH_SPAN_S = 1.5
    #: A round-trip sample older than this says nothing about the queue now.
    RTT_FRESH_S = 3.0
    #: A REMB fall is no queue while the latest round trip sits within `QUIET_RTT_S` of a base that has not
    #: moved for `BASE_SETTLED_S`: REMB is a delay signal, and our own round trips show no delay. Chromium's
    #: REMB stayed at 30–34 kbit/s (or flipped between that and twice it) for 10 s and more while ~115
    #: kbit/s arrived at the path's own round trip, and the cuts it caused paused video (measured). A base
    #: that moved lately may hold a queue of its own (rebased during a link step), so it is not trusted.
    QUIET_RTT_S = 0.03
    BASE_SETTLED_S = 5.0
    #: A flooded link: a standing queue of LARGE_QUEUE_S (or a REMB fall that cuts: with round trips
    #: sampled once a second, REMB showed a step first) while the subscriber NACKed at least this share of
    #: the latest video packets (the allocator's NACK_SPAN). A longer path alone (a handover) raises the
    #: round trips without loss. On 2G the share NACKed read 0–4 % (random loss) and 6–15 % at the step's first
    #: sign, when most NACKs for the flood were still on their way (measured).
    FLOOD_NACKED = 0.05
    #: ... or came this long after a REMB fall already cut: the NACKs for the flood's packets arrive a round
    #: trip after REMB shows it (here REMB fell to 278 kbit/s with 4 % NACKed, a tick before 33 %). In CI a
    #: step went to the middle tier first and to the lowest 2 s later, at what looks like the next halving.
    FLOOD_NACKS_LAG_S = CUT_HOLD_S
    #: After a flood, a queue that has not drained this long after it was seen is the path's own round
    #: trip (QUEUE_PATIENCE_S otherwise): the flood's cut left the link far less than it carries.
    FLOOD_PATIENCE_S = 2.0
    #: Loss reported this long after a flood's cut cuts nothing more: the reports about the flood's packets
    #: come a round trip late (a 2G one, over an uplink the patient's own video floods) and stay in the loss
    #: window 2 s and a report interval more. On 2G the window still held the flood's 44 % 3 s after the cut,
    #: and cut again by it, from what the lowest picture sends, the picture paused for the rest of the call
    #: (measured: 38 s). Nor does a REMB fall in that time: when a path step cut before REMB had fallen, its
    #: fall 3 s later, set against what the lowest picture sends, paused the picture for 20 s (measured).
    #: Unless the NACKs show the lowest picture's own packets lost at HIGH_LOSS (an edge link cannot carry
    #: even that picture); the allocator then counts only packets sent after the cut (the flood's own NACKs
    #: come a round trip after it).
    FLOOD_REPORTS_S = 5.0
    #: A step of the subscriber's own uplink path counts for this long (a tick or two).
    PATH_STEP_FRESH_S = 1.0
    #: What a standing queue leaves of what we send (GCC's delay-based back-off).
    QUEUE_CUT = 0.85
    #: A probe that carries this much more than the ceiling shows the link has changed: it is forgotten.
    CEILING_CLEARED = 1.2
    #: While a ceiling is remembered, the link is not probed for a rate beyond this multiple of it: getting
    #: there takes several probes past where the link ended, and on 2G (T3 wanting T2: 1.6–1.9 × the
    #: ceiling) each failed one cost the picture 0.5–4 s of freezes, and refreshed the ceiling for the next
    #: (measured). A changed link shows itself in a shorter round trip, or the ceiling expires.
    CEILING_REACH = 1.5
    #: How long the rate at which the link last showed its end (heavy loss, a standing queue, a failed
    #: probe) stays its known ceiling.
    CEILING_MEMORY_S = 60.0

    def __init__(self, now: float) -> None:
        self.estimate_bps: float = self.INITIAL_BPS
        self.remb_bps: int | None = None
        self.sent_bps: float = 0.0
        self.loss: float = 0.0
        self.congested = False
        self.congested_at = -1e9
        self._cut_at = -1e9
        self._recent_sent: deque[tuple[float, float]] = deque()  # (t, sent bit/s)
        self._reports: dict[int, deque[tuple[float, int, int]]] = {}  # ssrc -> (t, lost, expected)
        self._remb_at = -1e9
        self._remb_ratio = 1.0  # the latest REMB ÷ the payload rate sent on the streams it covers
        self._rembs_low = 0  # consecutive REMBs below DELAY_DROP × that rate
        self._remb_cut_bps = float("inf")  # the REMB that caused the last cut (inf: none since it rose)
        self._last_tick = now
        self._sent: deque[tuple[float, int]] = deque([(now, 0)])  # (t, cumulative bytes on the wire)
        self._proven_bps = 0.0
        self._proven_at = -1e9
        self._have_feedback = False
        self._rtts: deque[tuple[float, float]] = deque()  # (t, round trip s) over BASE_RTT_WINDOW_S
        self._base_rtt = float("inf")
        self._base_moved_at = now  # when the base round trip last changed (or the path was forgotten)
        self.queue_delay_s = 0.0  # the least of the last QUEUE_SAMPLES round trips above the base
        self._standing: _Standing | None = None
        self._ceiling = _NO_CEILING  # (bit/s, when): where the link last showed it ends
        self.path_changed_at = -1e9  # when round trips last showed a new, shorter path
        self._reported_at = -1e9  # when the latest receiver report came
        self.nacked = 0.0  # the share of the latest video packets the subscriber NACKed
        #: what the lowest picture costs with its audio (the allocator sets it): where a flood drops to
        self.lowest_picture_bps: float = float(self.MIN_BPS)
        self._flood_at = -1e9  # when the latest flood cut came
        self._remb_cut_at = -1e9  # when a REMB fall last cut
        self._path_step_at = -1e9  # when the subscriber's uplink last showed a path change (not yet acted on)

    # -- inputs -----------------------------------------------------------------------------------

    def on_remb(self, bps: int, covered_bps: float, now: float) -> None:
        """A REMB of `bps`, while we sent `covered_bps` of payload on the streams it covers (a REMB covers
        the streams it lists: Chromium all of a connection's, aiortc one receiver's)."""
        rising = self.remb_bps is not None and bps > self.remb_bps
        self.remb_bps = bps
        self._remb_at = now
        self._remb_ratio = bps / covered_bps if covered_bps > self.MIN_BPS else 1.0
        # a queue makes REMB fall; one that rises while still below what we send is the receiver catching
        # up (after paused video resumes, Chromium's REMB starts from what audio alone brought, climbs a few
        # % a second, and read as a queue it paused the picture again 2 s later, measured)
        low = self._remb_ratio < self.DELAY_DROP and not rising
        self._rembs_low = self._rembs_low + 1 if low else 0
        if bps * self.REMB_FALLS_AGAIN > self._remb_cut_bps:  # well past the fall it caused: news again
            self._remb_cut_bps = float("inf")
        self._have_feedback = True

    def on_report(self, ssrc: int, report: StreamReport, now: float) -> None:
        history = self._reports.setdefault(ssrc, deque())
        lost = max(report.packets_lost - report.unsent, report.resent)
        history.append((now, lost, report.highest_sequence))
        self._reported_at = now
        while len(history) > 2 and now - history[1][0] >= self.LOSS_WINDOW_S:
            history.popleft()
        self._have_feedback = True

    def on_nacked(self, share: float) -> None:
        """The share of its latest video packets the subscriber NACKed (each lost on its link)."""
        self.nacked = share

    def on_path_step(self, now: float) -> None:
        """The subscriber's own uplink path changed (a handover): its downlink is most likely on the new path."""
        self._path_step_at = now

    def on_rtt(self, sample_s: float, now: float) -> None:
        """One round-trip measurement to this subscriber (any of its streams)."""
        rtts = self._rtts
        # the old path's round trip, from samples before the last SHORTER_PATH_SPAN_S: a handover's own
        # samples fall in steps (599, 459, 320, 201 ms), and each was measured against the one before it
        older = [rtt for t, rtt in rtts if now - t >= self.SHORTER_PATH_SPAN_S]
        handover = False
        if len(older) >= self.QUEUE_SAMPLES:
            base = min(older)
            if sample_s < self.SHORTER_PATH * base and base - sample_s > self.SHORTER_PATH_MIN_S:
                # a handover to a better network: what the old path showed of its end says nothing now
                self._forget_path(keep_samples=0)
                self.path_changed_at = now
                rtts = self._rtts
                handover = True
        rtts.append((now, sample_s))
        while now - rtts[0][0] > self.BASE_RTT_WINDOW_S:
            rtts.popleft()
        base = min(rtt for _, rtt in rtts)
        if abs(base - self._base_rtt) > self.QUIET_RTT_S / 3:
            self._base_rtt = base
            # a base found by a round trip 40 % shorter than the old path's holds no queue, and is trusted
            # at once: after a 2G → 3G step Chromium's REMB flipped between 13 and 26 kbit/s while 145 arrived
            # at the new path's own round trip, and in the 5 s a rebased base waits, a fall cut the estimate
            # below the lowest picture and paused it for 9.5 s (measured, in the server's log)
            self._base_moved_at = now - self.BASE_SETTLED_S if handover else now
        if len(rtts) > self.QUEUE_SAMPLES:
            latest = [rtt for _, rtt in list(rtts)[-self.QUEUE_SAMPLES:]]
            self.queue_delay_s = min(latest) - base
            large = min(latest[-self.LARGE_QUEUE_SAMPLES:]) - base
            if large >= self.LARGE_QUEUE_S:
                self.queue_delay_s = max(self.queue_delay_s, large)
        self._have_feedback = True

    def queue_in(self, sample_s: float) -> float:
        """How far one round-trip sample stands above the link's own (0 before any is known)."""
        return max(0.0, sample_s - self._least_rtt()) if self._rtts else 0.0

    def _least_rtt(self) -> float:
        """The link's own round trip: the least measured over BASE_RTT_WINDOW_S (samples must exist)."""
        return min(rtt for _, rtt in self._rtts)

    @property
    def last_rtt_at(self) -> float:
        """When the latest round-trip sample arrived (-inf: none yet, or the path was just forgotten)."""
        return self._rtts[-1][0] if self._rtts else float("-inf")

    def rtt_summary_ms(self, now: float) -> str:
        """For logs: the latest round-trip sample's age and value, and the base (ms)."""
        if not self._rtts:
            return "none"
        at, last = self._rtts[-1]
        base = self._least_rtt()
        return f"{last * 1000:.0f} ({now - at:.1f} s ago, base {base * 1000:.0f} of {len(self._rtts)})"

    def on_sent(self, total_bytes: int, now: float) -> None:
        """The cumulative bytes sent to this subscriber (media, retransmissions, probes, with overhead)."""
        self._sent.append((now, total_bytes))
        while len(self._sent) > 2 and now - self._sent[1][0] >= self.LOSS_WINDOW_S:
            self._sent.popleft()

    def probe_succeeded(self, bps: float, now: float) -> None:
        """A probe carried `bps` without loss or a building queue: the link is known to carry it."""
        self._proven_bps = bps
        self._proven_at = now
        if self.near_ceiling(now):
            if bps > self.CEILING_CLEARED * self._ceiling[0]:
                self._ceiling = _NO_CEILING  # well past where it ended: the link has changed
            else:
                self._ceiling = (max(self._ceiling[0], bps), now)  # it ends a little higher than thought
        self.estimate_bps = max(self.estimate_bps, bps)

    def probe_failed(self, before_bps: float, now: float) -> None:
        """A probe built a queue or lost packets: the link is back to what it carried before the probe
        (a little less), and the reports about the probe's own packets cut nothing more."""
        self.estimate_bps = before_bps * self.PROBE_FAIL_KEEP
        self._ceiling = (self.estimate_bps, now)  # the link showed where it ends
        self._cut_at = now + self.CAUSE_S - self.CUT_HOLD_S  # no cut until the probe's reports are past
        self._recent_sent.clear()
        self._rembs_low = 0

    def _rebase(self, standing: _Standing) -> None:
        """Cutting did not drain the 'queue': the path's own round trip grew (a 3G → 2G handover adds
        400 ms). The latest samples become the base, and what the false queue cut and capped is undone,
        unless the subscriber's NACKs showed a flood beside it: then the cut and the ceiling were real."""
        flooded = self._flood_answered()  # `standing` is the episode being rebased
        ceiling = self._ceiling
        self._forget_path(keep_samples=self.QUEUE_SAMPLES)
        if flooded:
            self._ceiling = ceiling
        else:
            self.estimate_bps = max(self.estimate_bps, min(standing.estimate_bps, self.HEADROOM * self.sent_bps))

    def _forget_path(self, keep_samples: int) -> None:
        """The path changed: its base round trip (but the latest samples), queue and ceiling are gone. The
        REMB that cut last is kept: the same figure after the change is no new fall (Chromium's stays where
        it fell for 10 s and more), and cut again against the lowest picture's rate it takes the estimate
        below what that picture needs."""
        self._rtts = deque(list(self._rtts)[-keep_samples:] if keep_samples else [])
        self._base_rtt = float("inf")
        self.queue_delay_s = 0.0
        self._standing = None
        self._ceiling = _NO_CEILING

    def carried_bps(self, now: float) -> float:
        """What this link has shown it carries: the rate sent lately, or a probe's proof while it lasts."""
        proven = self._proven_bps if now - self._proven_at < self.PROBE_PROOF_S else 0.0
        return max(self.sent_bps, proven)

    def within_reach(self, bps: float, now: float) -> bool:
        """Whether probing for `bps` is worth its risk: no ceiling is remembered, or it is near enough."""
        return bps <= self.CEILING_REACH * self.ceiling_bps(now)

    def near_ceiling(self, now: float) -> bool:
        """Whether heavy loss, a standing queue or a failed probe showed, lately, where this link ends."""
        return now - self._ceiling[1] < self.CEILING_MEMORY_S

    def ceiling_bps(self, now: float) -> float:
        """Where this link lately showed it ends (infinite when it has not)."""
        return self._ceiling[0] if self.near_ceiling(now) else _NO_CEILING[0]

    # -- the estimate -----------------------------------------------------------------------------

    def window_loss(self) -> float:
        lost = expected = 0
        for history in self._reports.values():
            if len(history) >= 2:
                lost += history[-1][1] - history[0][1]
                expected += history[-1][2] - history[0][2]
        if expected < self.MIN_EXPECTED:
            return 0.0  # too few packets to tell loss from noise
        return max(0.0, min(1.0, lost / expected))

    def queue_drop(self, now: float) -> float:
        """What share of what we send the link carries by REMB's account (1.0: no queue building)."""
        if now - self._remb_at > self.DELAY_WINDOW_S:
            self.remb_bps = None  # none lately: it says nothing about now
            return 1.0
        if self._rembs_low < self.DELAY_REMBS:
            return 1.0
        return min(1.0, self._remb_ratio / self.REMB_BACKOFF)

    @property
    def flood_cut_at(self) -> float:
        """When the latest flood cut came (a flood of NACKs, or a path step); -1e9 before any."""
        return self._flood_at

    def _flood_reporting(self, now: float) -> bool:
        """Loss reported within FLOOD_REPORTS_S of a flood's cut may still be the flood's: the cut has
        answered it, unless the subscriber NACKs the packets sent since (the latest NACK_SPAN are the lowest
        picture's) at HIGH_LOSS: then the link cannot carry even that picture (edge)."""
        return now - self._flood_at < self.FLOOD_REPORTS_S and self.nacked < self.HIGH_LOSS

    def _flood_answered(self) -> bool:
        """A flood cut came since the standing queue was first seen, or at most FLOOD_PATIENCE_S before
        (REMB may show a step before the round trips do): the queue is the flood's, draining, or the
        longer path's, and cuts nothing more."""
        return self._standing is not None and self._standing.since - self._flood_at <= self.FLOOD_PATIENCE_S

    def _round_trips_quiet(self, now: float) -> bool:
        """The latest round trip, fresh, sits at a base that has held for a while: no queue on the path."""
        if not self._rtts or now - self._base_moved_at < self.BASE_SETTLED_S:
            return False
        at, latest = self._rtts[-1]
        return now - at < self.RTT_FRESH_S and latest - self._base_rtt < self.QUIET_RTT_S

    def update(self, now: float) -> float:
        """Advance to `now` (call a few times a second); returns the estimate in bit/s."""
        dt = max(0.0, now - self._last_tick)
        self._last_tick = now
        (t0, b0), (t1, b1) = self._sent[0], self._sent[-1]
        if t1 - t0 >= 0.2:
            self.sent_bps = (b1 - b0) * 8 / (t1 - t0)
            self._recent_sent.append((now, self.sent_bps))
            while now - self._recent_sent[0][0] > self.CAUSE_S:
                self._recent_sent.popleft()
        if not self._have_feedback:
            return self.estimate_bps
        self.loss = self.window_loss()
        drop = self.queue_drop(now)
        queue = drop < 1.0 and (self.loss >= self.QUEUE_LOSS or self._remb_ratio < self.SEVERE_DROP) \
            and not self._round_trips_quiet(now)
        # a REMB that has not fallen since its last cut holds the estimate but cuts no more
        remb_news = queue and (self.remb_bps or 0) < self.REMB_FALLS_AGAIN * self._remb_cut_bps
        if remb_news and self._flood_reporting(now):
            # REMB falling after a flood's cut is the flood's, shown late: cut from what the lowest picture
            # sends, it paused the picture (measured); the cut has answered it
            self._remb_cut_bps = float(self.remb_bps or 0)
            remb_news = False
        # with video paused, samples come only from audio, whose receiver reports are rarer (Chromium's
        # audio interval is ~5 s, as the logs here showed): an old queue says nothing about now
        fresh = bool(self._rtts) and now - self._rtts[-1][0] < self.RTT_FRESH_S
        standing = fresh and self.queue_delay_s > self.QUEUE_DELAY_S
        first = self._standing
        if not standing:
            self._standing = None
        elif first is None:
            self._standing = _Standing(now, self.queue_delay_s, self.estimate_bps, self.sent_bps)
        elif now - first.since >= (self.FLOOD_PATIENCE_S if self._flood_answered() else self.QUEUE_PATIENCE_S) \
                and self.queue_delay_s > self.QUEUE_DRAINED * first.delay_s \
                and self.sent_bps < self.QUEUE_DRAINED * first.sent_bps:
            self._rebase(first)
            standing = False
        # loss counts once per report: with video paused only audio reports, seconds apart, and the same
        # window's loss cut again at every CUT_HOLD_S took an edge patient's estimate to MIN_BPS (measured)
        lossy = self.loss > self.HIGH_LOSS and self._reported_at > self._cut_at and not self._flood_reporting(now)
        estimate = self.estimate_bps
        cause = max((bps for _, bps in self._recent_sent), default=self.sent_bps)
        large_queue = standing and self.queue_delay_s >= self.LARGE_QUEUE_S
        flood_sign = large_queue or remb_news or now - self._remb_cut_at < self.FLOOD_NACKS_LAG_S
        above_lowest = estimate > self.lowest_picture_bps
        flooded = flood_sign and self.nacked >= self.FLOOD_NACKED and above_lowest
        stepped = now - self._path_step_at < self.PATH_STEP_FRESH_S and above_lowest
        self._path_step_at = -1e9  # heard once
        if flooded or stepped:
            # a flooded link: to the lowest picture at once; growth and probes find the link from there. It
            # got through no more than the packets not NACKed: the ceiling, not the estimate
            estimate = max(float(self.lowest_picture_bps), self.MIN_BPS)
            self._cut_at = self._flood_at = now
            if remb_news:  # answered: the same REMB, now set against the lowest picture, is no new fall
                self._remb_cut_bps = float(self.remb_bps or 0)
            if flooded:
                self._ceiling = (max(cause * (1 - self.nacked), estimate), now)
        if lossy or queue or standing or stepped:
            if (lossy or remb_news or standing) and now - self._cut_at >= self.CUT_HOLD_S:
                self._cut_at = now
                # what got through of what caused it: the loss, or how far REMB fell, whichever says less
                factor = min(1 - self.loss if lossy else 1.0, drop if remb_news else 1.0)
                estimate = min(estimate, max(cause, self.MIN_BPS) * max(factor, self.MAX_CUT))
                if remb_news:
                    self._remb_cut_bps = float(self.remb_bps or 0)
                    self._remb_cut_at = now
                if lossy:  # what got through is what the link carries: grow no higher for a while
                    carried = max(cause * (1 - self.loss), self.MIN_BPS)
                    if self.near_ceiling(now):  # later reports of the same loss say no more than the first
                        carried = min(carried, self._ceiling[0])
                    self._ceiling = (carried, now)
                if standing and not self._flood_answered():
                    # the queue formed under what was sent over the last seconds (its samples come a
                    # round trip and a report late): less than that, but never less than half at once
                    # (a queue a flood cut has answered is the flood's, or the longer path's: not cut again)
                    sent = sum(bps for _, bps in self._recent_sent) / max(1, len(self._recent_sent))
                    estimate = min(estimate, max(sent * self.QUEUE_CUT, estimate * self.MAX_CUT, self.MIN_BPS))
                    self._ceiling = (estimate, now)
        else:
            ceiling = self.HEADROOM * self.sent_bps
            if self.near_ceiling(now):
                ceiling = min(ceiling, self._ceiling[0])
            if now - self._proven_at < self.PROBE_PROOF_S:
                ceiling = max(ceiling, self._proven_bps)
            if estimate < ceiling:  # sending far less than the estimate holds it: nothing new is known
                estimate = min(ceiling, estimate * (1 + self.GROWTH_PER_S) ** dt)
        self.congested = lossy or queue or standing or stepped
        if self.congested:
            self.congested_at = now
        self.estimate_bps = max(float(self.MIN_BPS), estimate)
        return self.estimate_bps

    def stable_for(self, now: float) -> float:
        """Seconds since the link last showed congestion."""
        return now - self.congested_at
