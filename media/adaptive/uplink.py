"""The uplink budget: what a publisher's own link carries, and what its browser should send over it.

A patient on 2G also sends over 2G. From what the server sees of that link — the REMB estimate aiortc's
receive-side estimator computes, the loss on the publisher's streams, the rate that arrives — an
`UplinkGovernor` picks a rung of the ladder for the publisher's browser: audio takes its share first,
video gets what is left, video is switched off below the lowest video tier. The browser applies the
rung's budget with `RTCRtpSender.setParameters` (the `uplink-budget` message, docs/protocol.md).

It also bounds the REMB we send the publisher: that estimator reacts to queueing delay but not to loss
(measured: it held 447 kbit/s while most packets were lost), so with loss the loss-based limit wins and
the browser's own encoder backs off too. It also raises that REMB to the rung's video budget while the
publisher's packets show no standing queue (their one-way delay, `queue_s`): without a queue, a falling
delay-based estimate is noise, and a REMB below what arrives counts as congestion only with a queue.

Time constants: samples every 0.5 s; down after 1 s of sustained congestion (so within ~2 s of it
starting), straight to the rung the estimate fits; then 2 s to settle before judging again; up one rung after 8 s stable, doubling (to 64 s) after each up that congestion undoes
within 10 s. Going up needs the estimate to clear the next rung by max(10 %, 20 kbit/s) (libwebrtc's rule
for resuming suspended video) — or the estimator to be app-limited (aiortc's stops at 1.5 × what
arrives + 10 kbit/s, so it can never show room for more than the browser sends): then the step up is a
trial, and the backoff keeps failed trials rare.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .ladder import AUDIO_ONLY, DEFAULT_LADDER, ORIGINAL, PACKET_OVERHEAD_BYTES, Ladder, VideoTier

log = logging.getLogger(__name__)

#: Chromium sends Opus in 20 ms packets: 50 packets/s of overhead, whatever the bitrate.
AUDIO_PACKETS_PER_S = 50
#: Opus for the browser's voice: with its original video, beside a capped video, audio only, the floor.
AUDIO_ORIGINAL_BPS = 32_000
AUDIO_WITH_VIDEO_BPS = 24_000
AUDIO_ONLY_BPS = 24_000
AUDIO_FLOOR_BPS = 16_000
#: The floor rung: audio at its lowest, video off (below the audio-only rung's need).
AUDIO_FLOOR = "A-min"

#: At T0 the browser's own encoder decides (Chromium's 720p maximum; REMB still bounds it).
ORIGINAL_VIDEO_MAX_BPS = 2_500_000
ORIGINAL_MAX_FRAMERATE = 30.0
#: Moving up to T0 (no limits) needs this much more than T1 does.
ORIGINAL_HEADROOM = 1.5
#: The room page captures 640×360 (signaling/static/room.js); tiers scale down from this height.
DEFAULT_CAPTURE_HEIGHT = 360

#: Google Congestion Control's loss bands: cut above 10 %, hold between, grow 8 %/s below 2 %.
LOSS_HIGH = 0.10
LOSS_LOW = 0.02
GROWTH_PER_S = 1.08
#: Stepping up needs loss below this over the stable period (2G links lose ~2 % with no congestion).
LOSS_UP_MAX = 0.05
#: aiortc's estimator drops to 0.85 × the delivered rate when a queue builds: below 0.9 × is overuse.
OVERUSE_RATIO = 0.9
#: An estimate at least this far above what arrives is the estimator's app-limited ceiling (1.5 ×).
APP_LIMITED_RATIO = 1.3
#: A REMB below what arrives is overuse only while the publisher's packets show a standing queue this deep
#: (their one-way delay above its base, media/sfu/path_step.py). On 2G aiortc's estimator cut again and
#: again while the path showed none, 0.85 × what arrived each time, from 82 to 28 kbit/s in 7 s; the
#: browser followed it, and the governor switched the patient's video off (measured).
QUEUE_S = 0.05
#: Never ask the browser for less than Chromium's own minimum send rate.
MIN_REMB_BPS = 30_000

SAMPLE_INTERVAL_S = 0.5
DOWN_AFTER_S = 1.0
#: After a change, the browser needs a round trip and a few frames to follow it, and the queue it built
#: needs time to drain: congestion in this time is the old rung's, not the new one's.
SETTLE_S = 2.0
UP_AFTER_S = 8.0
UP_AFTER_MAX_S = 64.0
#: A step down this soon after a step up means the step up was wrong: wait twice as long next time.
TRIAL_S = 10.0
UP_MARGIN = 0.10
UP_MARGIN_MIN_BPS = 20_000


def audio_wire_bps(bps: int) -> int:
    """What the browser's Opus at `bps` costs on the link in 20 ms packets."""
    return bps + AUDIO_PACKETS_PER_S * PACKET_OVERHEAD_BYTES * 8


@dataclass(frozen=True)
class UplinkRung:
    """One step of the publisher's ladder: what its browser may send, and the estimate that needs."""

    name: str
    video: VideoTier | None  # the tier the browser's video is capped to; None at T0 and with video off
    video_on: bool
    audio_bps: int
    need_bps: int


def uplink_rungs(ladder: Ladder) -> tuple[UplinkRung, ...]:
    """T0, the ladder's video tiers, audio only, the audio floor: best first, needs falling."""
    tiers = [UplinkRung(t.name, t, True, AUDIO_WITH_VIDEO_BPS, audio_wire_bps(AUDIO_WITH_VIDEO_BPS) + t.wire_bps())
             for t in ladder.video]
    original = UplinkRung(ORIGINAL, None, True, AUDIO_ORIGINAL_BPS, int(tiers[0].need_bps * ORIGINAL_HEADROOM))
    audio_only = UplinkRung(AUDIO_ONLY, None, False, AUDIO_ONLY_BPS, audio_wire_bps(AUDIO_ONLY_BPS))
    floor = UplinkRung(AUDIO_FLOOR, None, False, AUDIO_FLOOR_BPS, 0)
    return (original, *tiers, audio_only, floor)


@dataclass(frozen=True)
class VideoBudget:
    max_bitrate: int
    max_framerate: float
    scale_resolution_down_by: float


@dataclass(frozen=True)
class UplinkBudget:
    """What the publisher's browser should send now (the `uplink-budget` message's fields)."""

    rung: str
    video: VideoBudget | None
    audio_max_bitrate: int
    estimate_bps: int | None

    def message_fields(self) -> dict[str, Any]:
        """`video`, `audio`, `estimate_kbps` as docs/protocol.md has them (add `type` and `room`)."""
        video = None
        if self.video is not None:
            video = {"max_bitrate": self.video.max_bitrate, "max_framerate": self.video.max_framerate,
                     "scale_resolution_down_by": self.video.scale_resolution_down_by}
        estimate = None if self.estimate_bps is None else round(self.estimate_bps / 1000)
        return {"video": video, "audio": {"max_bitrate": self.audio_max_bitrate}, "estimate_kbps": estimate}


@dataclass(frozen=True)
class UplinkSample:
    """What arrived from a publisher over one interval."""

    at: float  # monotonic seconds at the interval's end
    remb_bps: int | None  # the receive-side estimate of its video (delay-based, loss-blind)
    video_bps: float  # video that arrived, what that estimate measured
    audio_bps: float
    loss: float  # fraction of its media packets lost on the way (before any repair)
    queue_s: float | None = None  # the standing queue its packets' one-way delay shows (None: unknown)


class UplinkGovernor:
    """Picks the publisher's rung from its link samples, with hysteresis: down fast, up slowly."""

    def __init__(self, ladder: Ladder = DEFAULT_LADDER, capture_height: int = DEFAULT_CAPTURE_HEIGHT) -> None:
        self.rungs = uplink_rungs(ladder)
        self.capture_height = capture_height
        self._rung = 0  # every publisher starts unconstrained, without a message
        self._loss_based: float | None = None  # total bit/s the link carries given its loss
        self._last: UplinkSample | None = None
        self._congested_since: float | None = None
        self._stable_since: float | None = None
        self._last_up: float | None = None
        self._settled_at = float("-inf")
        self._up_wait = UP_AFTER_S

    @property
    def rung(self) -> UplinkRung:
        return self.rungs[self._rung]

    @property
    def estimate_bps(self) -> int | None:
        """The publisher's link, audio and video together: the lower of the delay and loss estimates, or
        what arrives while neither has a figure (no video to measure, no loss seen)."""
        sample = self._last
        if sample is None:
            return None
        estimates = [] if self._loss_based is None else [self._loss_based]
        if sample.remb_bps is not None:
            estimates.append(sample.remb_bps + sample.audio_bps)
        return int(min(estimates, default=sample.video_bps + sample.audio_bps))

    def budget(self) -> UplinkBudget:
        """The current rung as the browser applies it."""
        rung = self.rung
        video = None
        if rung.video_on and rung.video is None:
            video = VideoBudget(ORIGINAL_VIDEO_MAX_BPS, ORIGINAL_MAX_FRAMERATE, 1.0)
        elif rung.video is not None:
            scale = max(1.0, round(self.capture_height / rung.video.height, 2))
            video = VideoBudget(rung.video.kbps * 1000, rung.video.fps, scale)
        return UplinkBudget(rung.name, video, rung.audio_bps, self.estimate_bps)

    def remb_cap(self) -> int | None:
        """A bound for the REMB sent to the publisher when loss, not delay, limits its link; else None.
        REMB steers the browser's video, so the audio that arrives is taken off first."""
        sample = self._last
        if sample is None or self._loss_based is None:
            return None
        cap = max(int(self._loss_based - sample.audio_bps), MIN_REMB_BPS)
        if sample.remb_bps is not None and cap >= sample.remb_bps:
            return None
        return cap

    def remb_floor(self) -> int | None:
        """What the REMB sent to the publisher should not fall below: its rung's video budget while its
        path shows no standing queue and little loss (None at T0, with video off, or when unknown). The
        rung was chosen on the estimate; a delay-based estimate that falls without a queue is noise."""
        sample, rung = self._last, self.rung
        if sample is None or rung.video is None or not self._quiet(sample) or sample.loss >= LOSS_UP_MAX:
            return None
        return rung.video.kbps * 1000

    def update(self, sample: UplinkSample) -> UplinkBudget | None:
        """Take one interval's sample; return the new budget when the rung changes, else None."""
        self._update_loss_based(sample)
        self._last = sample
        estimate = self.estimate_bps
        assert estimate is not None
        now = sample.at
        if now < self._settled_at:
            return None
        if self._congested(sample):
            self._stable_since = None
            if self._congested_since is None:
                self._congested_since = now
            if now - self._congested_since >= DOWN_AFTER_S and self._rung < len(self.rungs) - 1:
                return self._move(max(self._fitting(estimate), self._rung + 1), now)
            return None
        self._congested_since = None
        if sample.loss >= LOSS_UP_MAX:
            self._stable_since = None
            return None
        if self._stable_since is None:
            self._stable_since = now
        if self._rung > 0 and now - self._stable_since >= self._up_wait:
            better = self.rungs[self._rung - 1]
            margin = max(better.need_bps * UP_MARGIN, UP_MARGIN_MIN_BPS)
            if estimate >= better.need_bps + margin or self._app_limited(sample):
                return self._move(self._rung - 1, now)
        return None

    def path_stepped(self, now: float) -> UplinkBudget | None:
        """The publisher's path changed (media/sfu/path_step.py: a handover, seen at once in its packets'
        delay): to the lowest video rung now, rather than after DOWN_AFTER_S of samples. On 2G the old
        rung's video flooded the link for 2–3 s more, and the subscriber's own feedback about its downlink
        queued behind it (measured). It climbs back by the usual rule if the link carries more."""
        lowest_video = max(i for i, rung in enumerate(self.rungs) if rung.video is not None)
        if self._rung >= lowest_video:
            return None
        return self._move(lowest_video, now)

    def _update_loss_based(self, sample: UplinkSample) -> None:
        """The loss-based limit exists only from a lossy sample on, and lets go once it has grown past the
        delay-based estimate: a link that never lost packets is not held to 8 %/s growth from whatever
        arrived in the call's first half second (often nothing: the limit then stayed at 0, capped the
        browser's REMB at 30 kbit/s for the whole call and sent its video off at the first congestion)."""
        received = sample.video_bps + sample.audio_bps
        if sample.loss > LOSS_HIGH:
            cut = received * (1 - 0.5 * sample.loss)
            self._loss_based = cut if self._loss_based is None else min(self._loss_based, cut)
        elif sample.loss < LOSS_LOW and self._loss_based is not None:
            dt = sample.at - self._last.at if self._last is not None else 0.0
            ceiling = max(self._loss_based, 1.5 * received + 10_000)
            grown = max(self._loss_based, MIN_REMB_BPS) * GROWTH_PER_S ** max(dt, 0.0)
            self._loss_based = min(grown, ceiling)
            if sample.remb_bps is not None and self._loss_based >= sample.remb_bps + sample.audio_bps:
                self._loss_based = None

    @staticmethod
    def _congested(sample: UplinkSample) -> bool:
        if sample.loss > LOSS_HIGH:
            return True
        overuse = sample.remb_bps is not None and sample.video_bps > 0 and sample.remb_bps < OVERUSE_RATIO * sample.video_bps
        return overuse and not UplinkGovernor._quiet(sample)

    @staticmethod
    def _quiet(sample: UplinkSample) -> bool:
        """The publisher's packets showed no standing queue (known, and under `QUEUE_S`)."""
        return sample.queue_s is not None and sample.queue_s < QUEUE_S

    @staticmethod
    def _app_limited(sample: UplinkSample) -> bool:
        """The estimate says nothing about room above what is sent (no video, or the estimator's ceiling)."""
        return sample.remb_bps is None or sample.video_bps <= 0 or sample.remb_bps >= APP_LIMITED_RATIO * sample.video_bps

    def _fitting(self, estimate: int) -> int:
        """The best rung whose need the estimate covers (the floor needs nothing)."""
        return next(i for i, rung in enumerate(self.rungs) if rung.need_bps <= estimate)

    def _move(self, rung: int, now: float) -> UplinkBudget:
        if rung < self._rung:
            self._last_up = now
        elif self._last_up is not None and now - self._last_up < TRIAL_S:
            self._up_wait = min(self._up_wait * 2, UP_AFTER_MAX_S)
        else:
            self._up_wait = UP_AFTER_S
        self._rung = rung
        self._congested_since = self._stable_since = None
        self._settled_at = now + SETTLE_S
        return self.budget()


class LinkTap(Protocol):
    """What a receiver tap (media/sfu/aiortc_bridge.py ReceiverTap) tells of the publisher's link."""

    kind: str
    remb_bps: int | None
    bytes_received: int
    queue_s: float | None

    def packet_counts(self) -> tuple[int, int]: ...


class UplinkMeter:
    """Turns a publisher's taps' running counters into one `UplinkSample` per interval."""

    def __init__(self, taps: Callable[[], Iterable[LinkTap]], clock: Callable[[], float] = time.monotonic) -> None:
        self._taps = taps
        self._clock = clock
        self._prior: dict[LinkTap, tuple[int, int, int]] = {}  # tap -> bytes, expected, received
        self._prior_at: float | None = None

    def sample(self) -> UplinkSample | None:
        """Since the previous call; None the first time (nothing to compare with)."""
        now = self._clock()
        taps = list(self._taps())
        counters = {tap: (tap.bytes_received, *tap.packet_counts()) for tap in taps}
        prior, prior_at = self._prior, self._prior_at
        self._prior, self._prior_at = counters, now
        if prior_at is None or now <= prior_at:
            return None
        rates = {"audio": 0.0, "video": 0.0}
        expected = received = 0
        for tap, (octets, tap_expected, tap_received) in counters.items():
            before = prior.get(tap, (0, 0, 0))
            rates[tap.kind] = rates.get(tap.kind, 0.0) + (octets - before[0]) * 8 / (now - prior_at)
            expected += tap_expected - before[1]
            received += tap_received - before[2]
        loss = max(0, expected - received) / expected if expected > 0 else 0.0
        # an estimate means something only while the video it measures flows (else it is stale)
        estimates = [tap.remb_bps for tap in taps if tap.remb_bps is not None]
        remb = max(estimates) if estimates and rates["video"] > 0 else None
        queues = [tap.queue_s for tap in taps if tap.queue_s is not None]
        return UplinkSample(now, remb, rates["video"], rates["audio"], loss, min(queues, default=None))


async def govern_uplink(
    governor: UplinkGovernor,
    meter: UplinkMeter,
    on_budget: Callable[[UplinkBudget], Awaitable[None]],
    interval_s: float = SAMPLE_INTERVAL_S,
) -> None:
    """Sample the publisher's link every interval and hand on each budget change; runs until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        sample = meter.sample()
        if sample is not None:
            budget = governor.update(sample)
            log.debug("uplink: %s → rung %s, estimate %s, REMB floor %s cap %s", sample, governor.rung.name,
                      governor.estimate_bps, governor.remb_floor(), governor.remb_cap())
            if budget is not None:
                await on_budget(budget)
