"""Which rung of the ladder one stream gets, with hysteresis: a small state machine per (subscriber, source).

Down fast, up slowly, one rung at a time. A lower rung is taken once it has been the one that fits for
`DOWN_HOLD_S`, or at once when the stream costs twice what fits or the link is congested now (the
estimate fell for loss, a queue or a falling REMB, not a wobble); a higher one only after the link has
been free of congestion for `UP_HOLD_S` (`RESUME_HOLD_S` when video is paused) and when the share clears
that rung's cost by `UP_MARGIN` (resuming paused video: by max(10 %, 20 kbit/s), libwebrtc's rule); the
share for going up may be smaller than the one for staying (`up_share_bps`: what the link has shown it
carries, not what the estimate guesses). A cap
(a doctor's pin, a patient's save-data) applies at once, and so does lifting it, as far as the link allows. When the next rung up is held back only by the
estimate, `probe_bps` says how much the link must be shown to carry, from `PROBE_LEAD_S` before the hold
ends.
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORK = "network"


@dataclass(frozen=True)
class Rung:
    name: str
    cost_bps: float  # what it takes on the wire; the last rung is the floor and always fits


class TierSelector:
    DOWN_HOLD_S = 1.0
    #: The current rung is kept while it costs at most this much more than the share (estimates wobble).
    DOWN_TOLERANCE = 1.1
    SEVERE_OVERSHOOT = 2.0
    UP_HOLD_S = 10.0
    RESUME_HOLD_S = 5.0
    UP_MARGIN = 1.2
    RESUME_MARGIN = 0.10
    RESUME_MARGIN_BPS = 20_000
    #: Video keeps its lowest tier down to this share of that tier's cost before it pauses. Each pause
    #: costs a resume (RESUME_HOLD_S, then probes and a keyframe): at a 3G → 2G step a transient dip in
    #: the estimate paused a picture the 2G link carries, and it stayed frozen 9–14 s (measured); a link
    #: that really cannot carry it loses packets, and the loss-based cuts then take it below this.
    VIDEO_FLOOR_SHARE = 0.75
    #: A probe for the next rung may start this long before the hold ends: the probe and its verdict take
    #: ~3 s (StreamAllocator.PROBE_S + PROBE_VERDICT_S), and asked for only once the hold had passed, every
    #: up-switch came 3.5 s after it (measured: after a 2G → 3G step, 10 s after the last congestion of the
    #: 2G phase, then the probe).
    PROBE_LEAD_S = 3.0

    def __init__(self, first: str, floor: str, now: float, down_tolerance: float = DOWN_TOLERANCE,
                 floor_share: float = 1.0, floor_hold_s: float = RESUME_HOLD_S) -> None:
        """`down_tolerance`: how far over its share the current rung may run before it is left (1.0: not at
        all, for a stream that must leave room for another, as full-rate audio for the picture).
        `floor_share`: the rung above the floor is left for the floor only when the share falls below this
        part of its cost (VIDEO_FLOOR_SHARE for video: pausing it costs a resume, seconds of frozen picture).
        `floor_hold_s`: the stable time before leaving the floor (RESUME_HOLD_S: a paused picture is missed;
        UP_HOLD_S for audio, whose low rung is speech all the same)."""
        self.rung = first
        self.down_tolerance = down_tolerance
        self.floor_share = floor_share
        self.floor_hold_s = floor_hold_s
        self.reason: str | None = None
        self.probe_bps = 0.0
        self._floor = floor
        self._lower_since: float | None = None
        self._changed_at = now
        self._cap: str | None = None

    @classmethod
    def _needed(cls, cost_bps: float, from_floor: bool) -> float:
        """The share that takes a rung of this cost: resumed from the floor, or stepped up to."""
        if from_floor:
            return cost_bps + max(cls.RESUME_MARGIN * cost_bps, cls.RESUME_MARGIN_BPS)
        return cost_bps * cls.UP_MARGIN

    @classmethod
    def room_to_hold(cls, cost_bps: float) -> float:
        """The share a rung of this cost needs to be taken from either side. What full-rate audio must
        leave for the lowest video tier is sized by it."""
        return max(cls._needed(cost_bps, True), cls._needed(cost_bps, False))

    def _clears(self, share: float, rung: Rung) -> bool:
        return share >= self._needed(rung.cost_bps, self.rung == self._floor)

    def decide(
        self,
        rungs: list[Rung],
        share_bps: float,
        stable_s: float,
        now: float,
        cap: str | None = None,
        cap_reason: str | None = None,
        up_share_bps: float | None = None,
    ) -> bool:
        """Choose this stream's rung from `rungs` (best first) for `share_bps`; True when it changed.
        `up_share_bps` (at most `share_bps`) is the share a higher rung must clear: the allocator's, from
        what the link has proved it carries; the estimate may have grown past that without proof."""
        up_share = share_bps if up_share_bps is None else min(up_share_bps, share_bps)
        names = [r.name for r in rungs]
        # a tier gone from the rungs costs no less than the original now (its publisher sends less): the original
        # stands for it. Taken for the floor, it paused a subscriber's video on a 750 kbit/s link (measured)
        current = names.index(self.rung) if self.rung in names else 0
        last = len(rungs) - 1  # the floor, which always fits
        fits = next((i for i, r in enumerate(rungs)
                     if r.cost_bps * (self.floor_share if i == last - 1 and self.rung != self._floor else 1.0)
                     <= share_bps), last)
        capped = names.index(cap) if cap in names else 0
        target = max(fits, capped)
        self.probe_bps = 0.0
        choice = current
        lifted = self._cap is not None and cap != self._cap and self.rung == self._cap
        self._cap = cap
        if current < capped:
            choice = current = capped  # a cap takes effect at once (and the link may want less still)
        if lifted:
            choice = target  # and so does lifting it, as far as the link allows
        elif target > current and rungs[current].cost_bps > share_bps * self.down_tolerance:
            if self._lower_since is None:
                self._lower_since = now
            severe = share_bps * self.SEVERE_OVERSHOOT < rungs[current].cost_bps
            # the hold rides out an estimate's wobble; a cut for congestion, seen this tick, is no wobble:
            # waiting it out kept a 2G patient's link flooded a second longer after a 3G → 2G step (measured)
            congested = stable_s <= 0.0
            if severe or congested or now - self._lower_since >= self.DOWN_HOLD_S:
                choice = target
        else:
            self._lower_since = None
            hold = self.floor_hold_s if self.rung == self._floor else self.UP_HOLD_S
            better = current - 1
            held_for = min(stable_s, now - self._changed_at)
            if better >= capped and held_for >= hold - self.PROBE_LEAD_S:
                if not self._clears(up_share, rungs[better]):
                    # what clears it: resuming paused video needs its own margin, and a probe for less
                    # (cost × UP_MARGIN) proved a share that never cleared it, after which no probe could
                    # show more than the estimate: video stayed paused on 3G for good (measured)
                    self.probe_bps = self._needed(rungs[better].cost_bps, self.rung == self._floor)
                elif held_for >= hold:
                    choice = better
        name = names[choice]
        reason = None if choice == 0 else (cap_reason if choice == capped and fits <= capped else NETWORK)
        changed = name != self.rung
        if changed:
            self.rung = name
            self._changed_at = now
            self._lower_since = None
        self.reason = reason
        return changed
