"""A StreamAllocator: one per subscriber. It estimates the subscriber's downlink and gives each of its
consumers the rung that fits: audio first, then video shared among the video streams, then resends.

Every `TICK_S` it reads what it sent and what the subscriber reported (LinkEstimator), lets each stream's
TierSelector choose, and moves consumers between the producer and its shared renditions (Renditions).
When a selector is held back only by the estimate, it probes: padding on the retransmission stream at the
missing rate for `PROBE_S`; a probe that shows no loss and no building queue proves the link.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from media.sfu.consumer import Consumer
from media.sfu.producer import Producer

from .allowance import RetransmitAllowance
from .estimator import LinkEstimator, StreamReport
from .fec_policy import STOP_LOSS, fec_rate
from .ladder import AUDIO_ONLY, ORIGINAL, PACKET_OVERHEAD_BYTES
from .renditions import AUDIO_FULL, AUDIO_LOW, Renditions
from .selector import Rung, TierSelector

log = logging.getLogger(__name__)

#: What a stream is assumed to cost before its producer has been measured.
DEFAULT_VIDEO_BPS = 600_000
DEFAULT_AUDIO_BPS = 56_000
#: A patient's "save data" caps their video at this rung.
SAVE_DATA_CAP = "T3"
#: A REMB older than this no longer counts (Chromium sends one every ~200–240 ms).
REMB_FRESH_S = 2.0
PINNED = "pinned"
SAVE_DATA = "save_data"


@dataclass(frozen=True)
class Quality:
    """What a subscriber now receives of one producer (the `quality` event of docs/protocol.md)."""

    producer_id: str
    kind: str
    tier: str
    reason: str | None
    width: int | None
    height: int | None
    estimate_kbps: int


class _Stream:
    """One consumer as the allocator sees it: its selector, its rung, and its producer's measured rate."""

    def __init__(self, consumer: Consumer, producer: Producer, now: float) -> None:
        self.consumer = consumer
        self.producer = producer
        if consumer.kind == "video":
            self.selector = TierSelector(ORIGINAL, AUDIO_ONLY, now, floor_share=TierSelector.VIDEO_FLOOR_SHARE)
        else:
            # full-rate audio within a tolerance of its share would hold a paused picture back for good; and
            # asked for after the resume hold, its probe came 4 s after a 2G flood's cut, overflowed the
            # link and froze the picture (measured): low audio waits as long as any step up
            self.selector = TierSelector(AUDIO_FULL, AUDIO_LOW, now, down_tolerance=1.0,
                                         floor_hold_s=TierSelector.UP_HOLD_S)
        self.rung = self.selector.rung
        self.source_bps = float(DEFAULT_VIDEO_BPS if consumer.kind == "video" else DEFAULT_AUDIO_BPS)
        self._measured = (now, producer.stats.bytes, producer.stats.packets)
        self._sent = (now, 0)
        self.payload_bps = 0.0  # what this consumer sends, media payload only (what a REMB measures)
        self.reports_seen = 0
        self.rtt_seen_at = 0.0  # when the latest round-trip sample given to the estimator was measured
        self.told: Quality | None = None  # the last quality event sent for this stream

    def measure_sent(self, now: float) -> None:
        t0, b0 = self._sent
        if now - t0 >= 1.0:
            sent = self.consumer.stats.bytes
            self.payload_bps = (sent - b0) * 8 / (now - t0)
            self._sent = (now, sent)

    def measure_source(self, now: float) -> None:
        """The producer's own rate on the wire (what T0 or full audio costs), smoothed over seconds."""
        t0, b0, p0 = self._measured
        if now - t0 < 1.0:
            return
        stats = self.producer.stats
        bps = ((stats.bytes - b0) + (stats.packets - p0) * PACKET_OVERHEAD_BYTES) * 8 / (now - t0)
        self._measured = (now, stats.bytes, stats.packets)
        if bps > 0:
            self.source_bps = 0.7 * self.source_bps + 0.3 * bps


def _sent_bytes(consumer: Consumer) -> int:
    s = consumer.stats
    return (s.bytes + s.packets * PACKET_OVERHEAD_BYTES + s.retransmitted_bytes + s.probe_bytes + s.fec_bytes
            + s.keyframe_repeat_bytes)


class StreamAllocator:
    TICK_S = 0.5
    #: The least of the estimate kept free for resends and RTCP when choosing rungs.
    RESEND_HEADROOM = 0.05
    PROBE_S = 2.0
    PROBE_CHUNK_S = 0.02
    #: After the padding stops, wait this long (at least two round trips) before judging the probe.
    PROBE_VERDICT_S = 1.0
    #: A probe proves the link only if, besides no congestion, loss rose by at most this much and round trips
    #: by at most PROBE_QUEUE_S: one judged only by congestion (10 % loss, 100 ms of queue) passed while it
    #: overflowed a 2G queue (9.6 % loss from 3 %, 98 ms), and its "proof" led the next probes further past
    #: the link. Not less: with video paused, loss is counted over ~50 audio packets, one loss is 2 points.
    PROBE_LOSS_RISE = 0.05
    PROBE_QUEUE_S = 0.05
    PROBE_BACKOFF_S = (8.0, 60.0)
    #: A probe shows the link at most this share above the estimate, growing with each success in a row while no
    #: ceiling is known: one probe far past where a 2G link ends overflows its queue and freezes the
    #: picture for seconds (measured), while a link that keeps proving more is climbed in a few probes.
    PROBE_STEPS = (0.25, 0.5, 1.0)
    #: ... and at most this share past where the link lately ended (its ceiling), by the same streak: a
    #: probe there that fails builds about 10 % × PROBE_S (200 ms) of queue, less than a modest mobile
    #: buffer, where 25 % overflowed the 2G link's 250 ms queue and froze the picture for 2–6 s (measured).
    #: Below the ceiling the usual steps climb back fast; a link that has changed passes 1.2 × the ceiling
    #: by the second success, and the ceiling is forgotten.
    CEILING_PROBE_STEPS = (0.1, 0.25, 0.5)
    #: After a successful probe, the next may follow this soon.
    PROBE_AGAIN_S = 1.0
    #: A probe is sent only if it shows the link at least this much above the estimate.
    PROBE_GAIN_MIN = 1.05
    #: A probe for what the wanting streams need pads this far past it: what a probe is measured to carry
    #: came out up to 1 % short of what it padded to (audio's own rate varies), and an edge patient's paused
    #: picture then stayed paused on 3G for the rest of the call: the estimate sat 0.7 % under what resuming
    #: needed, too close for any further probe to prove something new (measured, in the server's log).
    PROBE_TARGET_MARGIN = 1.05
    #: With no round trip measured for this long, the subscriber's path is pinged (an ICE check, answered
    #: in one round trip). With video paused the only other samples are audio's receiver reports, 2.5–7.5 s
    #: apart, and a handover to a better network waited for the next one (6 s, measured) to show.
    PING_INTERVAL_S = 1.0
    #: While a probe pads the link, its path is pinged this often, and the probe stops at the first answer
    #: more than PROBE_QUEUE_S above the link's own round trip. Receiver reports come about once a second
    #: per stream and describe the queue a round trip late: on 2G a probe 25 % past the link overflowed its
    #: 250 ms queue before any report showed it, and the picture froze for 2–3 s (measured).
    PROBE_PING_S = 0.2
    #: A ping answered this far above the link's own round trip may have answered a retransmitted request
    #: (aioice resends an unanswered check after 0.5 s, and the time runs from the first send): its queue is
    #: not known, and it is left out.
    PING_RESENT_S = 0.45
    #: After a flood's cut, the new rung's first keyframe is sent again this long after it: by then a modest
    #: mobile buffer (250 ms) holding the old stream has drained (Consumer.repeat_next_keyframe).
    KEYFRAME_REPEAT_S = 0.3
    #: ... for a move down to a picture made this soon after the cut (at once, or after a probe's verdict).
    KEYFRAME_REPEAT_WITHIN_S = 1.5
    #: The estimator weighs the NACKed share of this many of the latest packets of each video stream
    #: (about a second of the original stream, three of the lowest tier).
    NACK_SPAN = 48

    def __init__(
        self,
        renditions: Renditions,
        on_quality: Callable[[Consumer, Quality], None],
        clock: Callable[[], float] = time.monotonic,
        fec: bool = False,
    ) -> None:
        """`fec`: protect this subscriber's video with RED + ULPFEC where its link calls for it and its
        browser accepted them (fec_policy.py); the FEC is paid from the video share."""
        self.renditions = renditions
        self.fec = fec
        #: FEC packets per media packet now sent on this subscriber's protectable video (0: none)
        self.fec_rate = 0.0
        self._fec_lossy_at = -1e9  # when the link last lost at least fec_policy.STOP_LOSS
        self.ladder = renditions.ladder
        self._on_quality = on_quality
        self._clock = clock
        now = clock()
        self.estimator = LinkEstimator(now)
        self.allowance = RetransmitAllowance(clock)
        self._streams: dict[str, _Stream] = {}
        self._gone_bytes = 0  # sent to consumers that have closed
        self._rembs: dict[frozenset[int], tuple[int, float]] = {}
        self._resent = (now, 0)  # (when, resent bytes then)
        self._resend_bps = 0.0
        self.pin: str | None = None
        self.save_data = False
        self._task: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._ping: asyncio.Task[None] | None = None
        self._probe_wait = self.PROBE_BACKOFF_S[0]
        self._next_probe_at = now
        self.probes = 0
        self.probes_succeeded = 0
        self.path_steps = 0  # changes of path heard from this subscriber's own uplink
        self._flood_marks: dict[str, int | None] = {}  # consumer id -> the newest sequence sent at a flood's cut
        self._probe_streak = 0  # successful probes in a row
        self._probe_to_target = False  # the next probe shows what the wanting rungs need, past any step
        self._path_changed_at = self.estimator.path_changed_at
        self.closed = False

    # -- membership -------------------------------------------------------------------------------

    def add(self, consumer: Consumer, producer: Producer) -> None:
        if self.closed:  # a closed allocator leaves new consumers on the original stream, unbudgeted
            return
        stream = _Stream(consumer, producer, self._clock())
        self._streams[consumer.id] = stream
        consumer.on_feedback = self._on_feedback
        consumer.retransmit_budget = self.allowance
        consumer.on_close.append(lambda: self.remove(consumer))

    def remove(self, consumer: Consumer) -> None:
        stream = self._streams.pop(consumer.id, None)
        if stream is None:
            return
        self._gone_bytes += _sent_bytes(consumer)
        self.renditions.release(stream.producer, stream.rung)

    def set_pin(self, tier: str | None) -> None:
        """A doctor's cap on the video this subscriber receives (None lifts it)."""
        self.pin = tier

    def set_save_data(self, enabled: bool) -> None:
        self.save_data = enabled

    def _cap(self) -> tuple[str | None, str | None]:
        caps = []
        if self.pin is not None:
            caps.append((self.pin, PINNED))
        if self.save_data:
            caps.append((SAVE_DATA_CAP, SAVE_DATA))
        if not caps:
            return None, None
        names = self.ladder.names()
        return max(caps, key=lambda c: names.index(c[0]) if c[0] in names else 0)

    # -- feedback ---------------------------------------------------------------------------------

    def _on_feedback(self, consumer: Consumer) -> None:
        stream = self._streams.get(consumer.id)
        if stream is None:
            return
        stats = consumer.stats
        now = self._clock()
        if stats.reports != stream.reports_seen:
            stream.reports_seen = stats.reports
            rtt = consumer.port.last_rtt_sample
            if rtt is not None and rtt[0] > stream.rtt_seen_at:
                stream.rtt_seen_at = rtt[0]
                self.estimator.on_rtt(rtt[1], rtt[0])
            report = StreamReport(stats.packets_lost, stats.highest_sequence, stats.repaired, stats.unsent)
            self.estimator.on_report(consumer.port.ssrc, report, now)
        elif stats.remb_bps is not None:
            # A REMB covers the streams it lists: Chromium one for the whole connection, aiortc one per
            # receiver. The subscriber's total is the sum of the latest REMB of each set.
            self._rembs[frozenset(stats.remb_ssrcs)] = (stats.remb_bps, now)
            fresh = {k: v for k, v in self._rembs.items() if now - v[1] < REMB_FRESH_S}
            self._rembs = fresh
            covered = set().union(*fresh)
            covered_bps = sum(s.payload_bps for s in self._streams.values() if s.consumer.port.ssrc in covered)
            self.estimator.on_remb(sum(bps for bps, _ in fresh.values()), covered_bps, now)

    def on_path_step(self) -> None:
        """This subscriber's own uplink showed its path change (media/sfu/path_step.py): act on it now, not
        at the next tick. A probe padding the link then only adds to its flood: it ends unjudged."""
        if self.closed:
            return
        self.path_steps += 1
        self.estimator.on_path_step(self._clock())
        who = next((s.consumer.subscriber_id for s in self._streams.values()), "?")
        log.info("subscriber %s: its uplink's path changed (one-way delay stepped up and stayed)", who)
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None
        try:
            self.tick()
        except Exception:  # called from the publisher's packet path: that must never fail with it
            log.exception("adaptation tick failed")

    # -- the loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None and not self.closed:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.TICK_S)
            try:
                self.tick()
            except Exception:  # one subscriber's adaptation must never take its media down
                log.exception("adaptation tick failed")

    def tick(self) -> None:
        now = self._clock()
        self.estimator.on_sent(self._sent_total(), now)
        playing = [s.consumer for s in self._streams.values()
                   if s.consumer.kind == "video" and not s.consumer.paused and not s.consumer.closed]
        self.estimator.on_nacked(max((self._nacked_share(c, now) for c in playing), default=0.0))
        estimate = self.estimator.update(now)
        if self.estimator.flood_cut_at == now:
            self._flood_marks = {c.id: c.sent_seq for c in playing}
        if self.estimator.path_changed_at != self._path_changed_at:
            # a handover to a shorter path: probe now, whatever failed on the old one, and show at once
            # what the next rungs need: the estimate is still the old link's (an edge patient's 20 kbit/s),
            # and doubling from there took three probes, ~15 s, to resume a paused picture on 3G (measured)
            self._path_changed_at = self.estimator.path_changed_at
            self._next_probe_at = now
            self._probe_wait = self.PROBE_BACKOFF_S[0]
            self._probe_streak = len(self.PROBE_STEPS) - 1
            self._probe_to_target = True
        streams = [s for s in self._streams.values() if not s.consumer.closed]
        if self._ping is None and streams and now - self.estimator.last_rtt_at > self.PING_INTERVAL_S:
            self._ping = asyncio.ensure_future(self._run_ping(streams[0].consumer))
        if log.isEnabledFor(logging.DEBUG):  # its round-trip summary walks every sample: only when logged
            e = self.estimator
            log.debug("subscriber tick: estimate %.0f remb %s loss %.3f nacked %.2f queue %.0f ms rtt %s ms sent %.0f "
                      "ceiling %.0f congested %s resends %.0f", estimate, e.remb_bps, e.loss, e.nacked, e.queue_delay_s * 1000,
                      e.rtt_summary_ms(now), e.sent_bps, min(e.ceiling_bps(now), 1e9), e.congested,
                      self._resend_rate(now))
        self.allowance.set_estimate(estimate)
        stable = self.estimator.stable_for(now)
        # resends are paced inside the estimate: plan for what they take now, at least RESEND_HEADROOM, and
        # at most what the allowance lets them take of this estimate (after a cut, the last second's resends
        # were paced on the old, higher one: planned for in full, they starve the tiers the new one carries)
        resend_bps = min(self._resend_rate(now), self.allowance.rate_bps)
        available = estimate - max(resend_bps, estimate * self.RESEND_HEADROOM)
        for stream in streams:
            stream.measure_source(now)
            stream.measure_sent(now)
        video = [s for s in streams if s.consumer.kind == "video"]
        protected = self._protect(video)
        if self._probe is not None:
            return  # what a probe does to the link is its own: judged when it ends, never a reason to move
        audio = [s for s in streams if s.consumer.kind == "audio"]
        low_audio = self.ladder.audio_low.wire_bps()
        cap, cap_reason = self._cap()
        # Audio first: it may take everything. But full-rate audio is kept only while it leaves room for
        # the lowest video tier of each wanted video stream: on a 2G link the low audio tier (16 kbit/s
        # Opus with in-band FEC) and 144p video beat full-rate audio and no picture (docs/adaptive.md).
        # (a protected stream's rung costs its FEC on top, so it is sized with it wherever rungs are: here,
        # in the share and in what a probe must show)
        def with_fec(stream: _Stream) -> float:
            return 1 + self.fec_rate if stream.consumer.id in protected else 1.0

        room = TierSelector.room_to_hold(self.ladder.lowest_video().wire_bps())
        picture_floor = sum(room * with_fec(s) for s in video) if cap != AUDIO_ONLY else 0.0
        # where a flooded link drops at once (the estimator's next tick): the lowest picture and low audio
        self.estimator.lowest_picture_bps = (picture_floor + low_audio * len(audio)) / (1 - self.RESEND_HEADROOM)
        # Going up is taken on proof: the link must have carried, or a probe shown, what is sent after the
        # move. The estimate grows unproven to HEADROOM × what is sent, and full-rate audio (+27 kbit/s on
        # ~125) fits inside that: on 2G it came back 7–10 s after the flood's cut, beside T3 it overflowed
        # the 150 kbit/s link, and the picture froze until the next cut (measured). Where no probe can be
        # sent (no RTX negotiated, no video), the estimate is all there is.
        probe_on = next((s.consumer for s in video if s.consumer.port.rtx_payload_type is not None), None)
        proven_available: float | None = None
        if probe_on is not None:
            proven = min(estimate, self.estimator.carried_bps(now))
            proven_available = proven - max(resend_bps, proven * self.RESEND_HEADROOM)
        video_cost = sum(self._cost(s) * with_fec(s) for s in video)
        wanted = 0.0
        for stream in audio:
            rungs = [Rung(AUDIO_FULL, stream.source_bps), Rung(AUDIO_LOW, low_audio)]
            up = None if proven_available is None else \
                max(0.0, proven_available - max(picture_floor, video_cost)) / len(audio)
            if stream.selector.decide(rungs, max(0.0, available - picture_floor) / len(audio), stable, now,
                                      up_share_bps=up):
                self._move(stream, estimate)
            if stream.selector.probe_bps:
                wanted += stream.selector.probe_bps - low_audio
        spent = sum(s.source_bps if s.rung == AUDIO_FULL else low_audio for s in audio)
        share = max(0.0, available - spent) / len(video) if video else 0.0
        up_share = None if proven_available is None else max(0.0, proven_available - spent) / len(video)
        for stream in video:
            rungs = self._video_rungs(stream)
            mine = share / with_fec(stream)
            mine_up = None if up_share is None else up_share / with_fec(stream)
            if stream.selector.decide(rungs, mine, stable, now, cap, cap_reason, up_share_bps=mine_up):
                self._move(stream, estimate)
            elif stream.told is not None and stream.rung not in (ORIGINAL, AUDIO_ONLY):
                self._tell(stream, estimate)  # the picture size becomes known once the tier has decoded
            if stream.selector.probe_bps:
                wanted += (stream.selector.probe_bps - self._cost(stream)) * with_fec(stream)
        if wanted > 0 and self._probe is None and now >= self._next_probe_at and probe_on is not None:
            # the total the link must be shown to carry for the wanting streams to clear their next rung
            target = (wanted + video_cost + spent) / (1 - self.RESEND_HEADROOM)
            if not self._probe_to_target and not self.estimator.within_reach(target, now):
                return  # far past where the link lately ended: wait for it to show it changed
            # the link is shown at most one step past the estimate and past what it carries now (or a success
            # just proved), so each success lifts that by the step, and a smaller step past its ceiling. The
            # estimate alone will not do: it grows without proof while the link is not congested, to 1.5 ×
            # what is sent, and on 2G a probe 10 % past it was 40–50 % past the media sent and overflowed the
            # queue (measured). With video paused (only audio sent) the step is from the estimate.
            streak = self._probe_streak
            step = self.PROBE_STEPS[min(streak, len(self.PROBE_STEPS) - 1)]
            past_ceiling = self.CEILING_PROBE_STEPS[min(streak, len(self.CEILING_PROBE_STEPS) - 1)]
            base = min(estimate, self.estimator.carried_bps(now))
            if all(s.rung == AUDIO_ONLY for s in video):
                # with video paused, the probe's padding shares the link with audio alone: past where the
                # link ended it cost an edge patient's audio 6–8 % concealment (measured). A better network
                # shows itself in round trips (a shorter path clears the ceiling), or the ceiling expires.
                past_ceiling = 0.0
                base = estimate
            show = self.probe_show(target, base, (1 + past_ceiling) * self.estimator.ceiling_bps(now),
                                   None if self._probe_to_target else step)
            extra = show - self.estimator.sent_bps if show is not None else 0.0
            if extra > 0:
                log.debug("probe: show %.0f (target %.0f, estimate %.0f, carried %.0f, ceiling %.0f, streak %d): "
                          "pad %.0f", show, target, estimate, base, min(self.estimator.ceiling_bps(now), 1e9),
                          streak, extra)
                self._probe_to_target = False
                self._probe = asyncio.ensure_future(self._run_probe(probe_on, extra))

    @classmethod
    def probe_show(cls, target: float, base: float, limit: float, step: float | None) -> float | None:
        """The rate a probe shows the link: a little past `target` (what the wanting streams need), at most
        `limit` (where the link lately ended, with the step allowed past it) and, unless probing straight
        for the target (`step` None: a handover), at most one step past `base`. None: no probe, since
        it would not show the link `PROBE_GAIN_MIN` above `base` and could prove nothing new."""
        show = min(target * cls.PROBE_TARGET_MARGIN, limit)
        if step is not None:
            show = min(show, (1 + step) * base)
        return show if show > cls.PROBE_GAIN_MIN * base else None

    def _nacked_share(self, consumer: Consumer, now: float) -> float:
        """The share of its latest packets the subscriber NACKed; for FLOOD_REPORTS_S after a flood's cut,
        of the packets sent since only. The NACKs for the flood's own packets come a round trip (over a
        flooded uplink, seconds) after the cut, and counted as the lowest picture's they read as a link that
        cannot carry even that (edge): loss reported about the flood then cut again and paused the picture."""
        after = None
        if now - self.estimator.flood_cut_at < LinkEstimator.FLOOD_REPORTS_S:
            after = self._flood_marks.get(consumer.id)
        return consumer.nacked_share.share(self.NACK_SPAN, after)

    def _sent_total(self) -> int:
        """Bytes sent to this subscriber so far, on the wire: media, resends, probes and FEC."""
        return self._gone_bytes + sum(_sent_bytes(s.consumer) for s in self._streams.values())

    def _protect(self, video: list[_Stream]) -> set[str]:
        """Set the FEC rate of this subscriber's video from its link's loss and round trip; return the
        consumers that carry it (whose subscriber accepted RED and ULPFEC)."""
        protectable = [s.consumer for s in video if s.consumer.port.fec_types is not None]
        if not self.fec or not protectable:
            self.fec_rate = 0.0
            return set()
        # the longest of the subscriber's round trips: a paused stream's own can be stale and far too short
        rtts = [s.consumer.port.rtt for s in self._streams.values() if s.consumer.port.rtt is not None]
        rtt = max(rtts) if rtts else None
        now = self._clock()
        if self.estimator.loss >= STOP_LOSS:
            self._fec_lossy_at = now
        rate = fec_rate(self.estimator.loss, rtt, self.fec_rate, self.estimator.congested, now - self._fec_lossy_at)
        if (rate > 0) != (self.fec_rate > 0):
            log.info("subscriber %s: video FEC %s at %.2f (loss %.3f, round trip %s s)", protectable[0].subscriber_id,
                     "on" if rate > 0 else "off", rate, self.estimator.loss, f"{rtt:.2f}" if rtt else None)
        self.fec_rate = rate
        for consumer in protectable:
            port = consumer.protect() if rate > 0 else consumer.protected_port()
            if port is not None:
                port.rate = rate
        return {c.id for c in protectable} if rate > 0 else set()

    def _cost(self, stream: _Stream) -> float:
        return next((r.cost_bps for r in self._video_rungs(stream) if r.name == stream.rung), 0.0)

    def _resend_rate(self, now: float) -> float:
        """Bits per second of resends to this subscriber over the last second or so."""
        total = sum(s.consumer.stats.retransmitted_bytes for s in self._streams.values())
        then, before = self._resent
        if now - then >= 1.0:
            self._resent = (now, total)
            self._resend_bps = max(0.0, total - before) * 8 / (now - then)
        return self._resend_bps

    def _video_rungs(self, stream: _Stream) -> list[Rung]:
        original = stream.source_bps
        rungs = [Rung(ORIGINAL, original)]
        # a tier that costs as much as the original is no step down
        rungs += [Rung(t.name, t.wire_bps()) for t in self.ladder.video if t.wire_bps() < original]
        rungs.append(Rung(AUDIO_ONLY, 0.0))
        return rungs

    def _move(self, stream: _Stream, estimate: float) -> None:
        """Put the stream's consumer on its selector's rung: the producer, a shared rendition, or paused."""
        consumer, producer = stream.consumer, stream.producer
        old, new = stream.rung, stream.selector.rung
        stream.rung = new
        if new == AUDIO_ONLY:
            consumer.pause()
        else:
            consumer.switch_source(self.renditions.acquire(producer, new))
            consumer.resume()
            if consumer.kind == "video" and self._clock() - self.estimator.flood_cut_at <= self.KEYFRAME_REPEAT_WITHIN_S:
                # the flood's cut: the new rung's first keyframe goes into a queue still full of the old stream
                consumer.repeat_next_keyframe(self.KEYFRAME_REPEAT_S)
        self.renditions.release(producer, old)
        log.info("subscriber %s: %s %s -> %s (%s, estimate %d kbit/s)", consumer.subscriber_id, consumer.kind,
                 old, new, stream.selector.reason, estimate / 1000)
        self._tell(stream, estimate)

    def _tell(self, stream: _Stream, estimate: float) -> None:
        """Send the subscriber a `quality` event for this stream, if anything it says has changed."""
        consumer = stream.consumer
        width = height = None
        if consumer.kind == "video" and stream.rung != AUDIO_ONLY:
            width, height = self._picture_size(stream.producer.id, stream.rung)
        told = stream.told
        if told is not None and (told.tier, told.reason, told.width, told.height) == (
                stream.rung, stream.selector.reason, width, height):
            return
        stream.told = Quality(stream.producer.id, consumer.kind, stream.rung, stream.selector.reason, width, height,
                              int(estimate / 1000))
        self._on_quality(consumer, stream.told)

    def _picture_size(self, producer_id: str, rung: str) -> tuple[int | None, int | None]:
        transcoder = self.renditions.video_transcoder(producer_id)
        size = transcoder.source_size if transcoder is not None else None
        if size is None:
            return None, None
        if rung == ORIGINAL:
            return size
        return self.ladder.video_tier(rung).size_for(*size)

    async def _run_probe(self, consumer: Consumer, bps: float) -> None:
        """Pad the link up to `bps` more for PROBE_S; if it carried that without loss or a queue, say so."""
        start = self._clock()
        sent_before = self._sent_total()
        before = self.estimator.estimate_bps
        loss_before, queue_before = self.estimator.loss, self.estimator.queue_delay_s
        self.probes += 1
        queued = [0.0]  # the most queue a ping during the probe showed
        pings: list[asyncio.Task[None]] = []
        try:
            while self._clock() - start < self.PROBE_S and not consumer.closed and not self.closed:
                if not consumer.send_probe(int(bps * self.PROBE_CHUNK_S / 8)):
                    return  # no RTX stream: this subscriber cannot be probed
                await asyncio.sleep(self.PROBE_CHUNK_S)
                if self.estimator.congested_at >= start or queued[0] > self.PROBE_QUEUE_S:
                    break
                if not pings or self._clock() - start >= len(pings) * self.PROBE_PING_S:
                    pings.append(asyncio.ensure_future(self._probe_ping(consumer, queued)))
            log.debug("probe: padding stopped after %.2f s (pinged %.0f ms)", self._clock() - start, queued[0] * 1000)
            # what the link was given while the padding ran, the padding included (the estimator's sent
            # rate spans seconds from before the probe and reads less: a small probe then proves nothing)
            carried = (self._sent_total() - sent_before) * 8 / max(self._clock() - start, self.PROBE_CHUNK_S)
            # the reports about the probe's last packets are a round trip and a report interval away
            rtt = consumer.port.rtt or 0.3
            await asyncio.sleep(max(self.PROBE_VERDICT_S, 2 * rtt))
            self.estimator.update(self._clock())
            now = self._clock()
            if self.closed:
                return
            e = self.estimator
            clean = (e.loss <= loss_before + self.PROBE_LOSS_RISE and queued[0] <= self.PROBE_QUEUE_S
                     and e.queue_delay_s <= queue_before + self.PROBE_QUEUE_S)
            log.debug("probe verdict: carried %.0f, congested %s, loss %.3f -> %.3f, queue %.0f -> %.0f ms, "
                      "pinged %.0f ms", carried, e.congested_at >= start, loss_before, e.loss,
                      queue_before * 1000, e.queue_delay_s * 1000, queued[0] * 1000)
            if e.congested_at < start and clean:
                self.probes_succeeded += 1
                e.probe_succeeded(carried, now)
                self._probe_wait = self.PROBE_BACKOFF_S[0]
                self._probe_streak += 1
                self._next_probe_at = now + self.PROBE_AGAIN_S
            else:
                # the congestion (or the loss and queue) was the probe's own: it does not count against the link
                e.probe_failed(before, now)
                self._next_probe_at = now + self._probe_wait
                self._probe_wait = min(self._probe_wait * 2, self.PROBE_BACKOFF_S[1])
                self._probe_streak = 0
        finally:
            for ping in pings:
                ping.cancel()
            self._probe = None

    async def _probe_ping(self, consumer: Consumer, queued: list[float]) -> None:
        """One ping during a probe: its round trip counts as any other, and the queue it shows is noted."""
        sample = await consumer.port.ping()
        if sample is None or self.closed or (queue := self.estimator.queue_in(sample)) >= self.PING_RESENT_S:
            return
        self.estimator.on_rtt(sample, self._clock())
        queued[0] = max(queued[0], queue)

    async def _run_ping(self, consumer: Consumer) -> None:
        try:
            sample = await consumer.port.ping()
            if sample is not None and not self.closed:
                self.estimator.on_rtt(sample, self._clock())
        finally:
            self._ping = None

    def close(self) -> None:
        """Idempotent: stops the loop, any probe and ping, and releases every rendition this subscriber held."""
        if self.closed:
            return
        self.closed = True
        for task in (self._task, self._probe, self._ping):
            if task is not None:
                task.cancel()
        for stream in list(self._streams.values()):
            self.remove(stream.consumer)
