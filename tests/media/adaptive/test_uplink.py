"""The uplink governor: a publisher's link, as the server sees it, turned into a budget for its browser."""

from __future__ import annotations

import pytest

from media.adaptive.uplink import (
    AUDIO_FLOOR_BPS,
    AUDIO_ONLY_BPS,
    AUDIO_WITH_VIDEO_BPS,
    MIN_REMB_BPS,
    SETTLE_S,
    UP_AFTER_MAX_S,
    UP_AFTER_S,
    UplinkGovernor,
    UplinkSample,
)

STEP_S = 0.5  # the hook samples twice a second


class Link:
    """Feeds a governor one sample per step of an injected clock."""

    def __init__(self, governor: UplinkGovernor | None = None) -> None:
        self.governor = governor or UplinkGovernor()
        self.now = 100.0
        self.budgets: list[tuple[float, str]] = []

    def run(self, seconds: float, remb: int | None, video: float, audio: float = 40_000, loss: float = 0.0,
            queue_s: float | None = None) -> str:
        """Hold these conditions for `seconds`; return the rung at the end."""
        for _ in range(round(seconds / STEP_S)):
            self.now += STEP_S
            budget = self.governor.update(UplinkSample(self.now, remb, video, audio, loss, queue_s))
            if budget is not None:
                self.budgets.append((self.now, budget.rung))
        return self.governor.rung.name

    def until_change(self, limit: float = 120, **conditions) -> None:
        """Hold these conditions until the rung changes."""
        count = len(self.budgets)
        while len(self.budgets) == count:
            assert self.now < 1e6 and limit > 0, "no change"
            self.run(STEP_S, **conditions)
            limit -= STEP_S

    def settle_at(self, rung: str, remb: int) -> None:
        """Bring the governor down to `rung` (a queue builds: the estimate falls below what arrives), and
        let the browser settle there."""
        self.run(2, remb=remb, video=remb / 0.8)
        assert self.governor.rung.name == rung, self.governor.rung.name
        self.run(SETTLE_S, remb=remb, video=remb * 0.7)
        self.budgets.clear()


# what the server sees (REMB of the video, video and audio that arrive, loss) → where the publisher ends up
LINKS = [
    # a laptop on a LAN: its own encoder decides, no budget is ever sent
    ("lan", dict(remb=1_500_000, video=500_000, loss=0.0), "T0"),
    # 2G (~150 kbit/s): a queue builds, the estimate falls to 0.85 × what gets through
    ("2g queue", dict(remb=95_000, video=110_000, loss=0.01), "T3"),
    # a 3G-ish link: room for 180p
    ("3g queue", dict(remb=200_000, video=230_000, loss=0.0), "T2"),
    # heavy loss behind a shallow queue: REMB stays high (loss-blind), the loss limit decides
    ("lossy", dict(remb=450_000, video=300_000, loss=0.45), "T2"),
    # EDGE at its worst: audio only, then the audio floor
    ("edge", dict(remb=15_000, video=40_000, loss=0.05), "A"),
    ("edge-bad", dict(remb=5_000, video=20_000, loss=0.3), "A-min"),
    # loss between 2 and 10 % with a sound estimate: hold, do not flap
    ("moderate loss", dict(remb=600_000, video=450_000, loss=0.06), "T0"),
]


@pytest.mark.parametrize("name, conditions, rung", LINKS, ids=[case[0] for case in LINKS])
def test_the_link_decides_the_publishers_rung(name, conditions, rung):
    link = Link()
    assert link.run(3, **conditions) == rung
    if rung == "T0":
        assert link.budgets == []


def test_down_within_two_seconds_of_sustained_congestion_and_not_for_one_bad_sample():
    link = Link()
    link.run(5, remb=1_000_000, video=500_000)
    link.run(STEP_S, remb=100_000, video=150_000)  # one congested sample
    assert link.run(5, remb=1_000_000, video=500_000) == "T0"
    start = link.now
    assert link.run(2, remb=100_000, video=150_000) == "T3"
    assert link.budgets[0][0] - start <= 2.0
    assert len(link.budgets) == 1  # straight to the rung that fits, in one message


def test_up_one_rung_at_a_time_after_a_stable_period():
    link = Link()
    link.settle_at("T3", remb=100_000)
    calm_from = link.now
    # the link recovers: the estimator sits at its app-limited ceiling (1.5 × what arrives)
    link.run(35, remb=120_000, video=70_000)
    assert [rung for _, rung in link.budgets] == ["T2", "T1", "T0"]
    ups = [calm_from] + [at for at, _ in link.budgets]
    assert ups[1] - ups[0] == pytest.approx(UP_AFTER_S, abs=STEP_S)
    assert [b - a for a, b in zip(ups[1:], ups[2:])] == [pytest.approx(SETTLE_S + UP_AFTER_S, abs=STEP_S)] * 2


def test_a_near_capacity_estimate_holds_the_rung_until_it_clears_the_next_by_a_margin():
    link = Link()
    link.settle_at("T3", remb=100_000)
    # estimate 80 + 40 kbit/s: neither app-limited (REMB ≈ 1.1 × video) nor clear of T2's need
    assert link.run(30, remb=80_000, video=72_000) == "T3"
    # the estimate clears T2's need (~204 kbit/s) by more than the margin: up
    assert link.run(UP_AFTER_S + 1, remb=200_000, video=180_000) == "T2"


def test_failed_trials_back_off_doubling_to_a_limit_and_a_fall_long_after_resets_the_wait():
    congested = dict(remb=5_000, video=20_000, loss=0.3)
    calm = dict(remb=None, video=0, audio=30_000)  # audio only, clean
    link = Link()
    link.run(2, **congested)
    assert link.governor.rung.name == "A-min"
    waits = []
    for _ in range(5):
        down_at = link.budgets[-1][0]
        link.until_change(**calm)
        assert link.governor.rung.name == "A"  # a trial: one rung up
        waits.append(link.budgets[-1][0] - down_at - SETTLE_S)
        link.until_change(**congested)  # it fails within seconds
    assert waits == [pytest.approx(w, abs=STEP_S) for w in (8, 16, 32, 64, 64)]
    assert UP_AFTER_S == 8 and UP_AFTER_MAX_S == 64

    link.until_change(**calm)
    link.run(15, remb=None, video=0, audio=40_000)  # this time the rung holds
    link.until_change(**congested)  # a new fall, long after: not a failed trial
    down_at = link.budgets[-1][0]
    link.until_change(**calm)
    assert link.budgets[-1][0] - down_at - SETTLE_S == pytest.approx(UP_AFTER_S, abs=STEP_S)


def test_the_budget_the_browser_gets_audio_first_video_scaled_from_its_capture():
    link = Link(UplinkGovernor(capture_height=720))
    link.run(2, remb=200_000, video=230_000)
    fields = link.governor.budget().message_fields()
    assert fields["video"] == {"max_bitrate": 150_000, "max_framerate": 15, "scale_resolution_down_by": 4.0}
    assert fields["audio"] == {"max_bitrate": AUDIO_WITH_VIDEO_BPS}
    assert 200 <= fields["estimate_kbps"] <= 240
    link.run(4, remb=15_000, video=40_000, loss=0.05)
    assert link.governor.budget().message_fields()["video"] is None
    assert link.governor.budget().audio_max_bitrate == AUDIO_ONLY_BPS
    link.run(4, remb=5_000, video=20_000, loss=0.3)
    assert link.governor.budget().audio_max_bitrate == AUDIO_FLOOR_BPS


def test_the_remb_cap_binds_only_when_loss_limits_the_link():
    link = Link()
    link.run(3, remb=600_000, video=450_000)
    assert link.governor.remb_cap() is None  # no loss: the estimator's own value goes upstream
    link.run(0.5, remb=600_000, video=450_000, loss=0.3)
    cap = link.governor.remb_cap()
    # what arrives (490 kbit/s) less half the loss, less the audio (REMB steers video only)
    assert cap == pytest.approx(490_000 * 0.85 - 40_000, rel=0.01)
    link.run(0.5, remb=600_000, video=30_000, audio=10_000, loss=0.9)
    assert link.governor.remb_cap() == MIN_REMB_BPS
    link.run(60, remb=600_000, video=450_000)  # loss gone: the limit grows back, 8 %/s, and lets go
    assert link.governor.remb_cap() is None


def test_a_path_step_takes_the_publisher_to_its_lowest_video_rung_at_once_and_no_lower():
    governor = UplinkGovernor()
    budget = governor.path_stepped(100.0)
    lowest_video = governor.rungs[-3]  # then audio only, then the floor
    assert budget is not None and budget.rung == lowest_video.name == "T3" and budget.video is not None
    assert governor.path_stepped(100.5) is None  # already there


def test_a_call_whose_media_starts_late_is_not_held_to_nothing():
    # over 3G or 2G the browser's media starts after the first sample: nothing has arrived yet
    link = Link()
    link.run(STEP_S, remb=None, video=0, audio=0)
    link.run(5, remb=600_000, video=450_000)
    assert link.governor.remb_cap() is None  # the browser's REMB is its estimator's, not 30 kbit/s
    assert link.governor.estimate_bps == 600_000 + 40_000
    # a 2G queue then builds: the rung that fits, not the audio floor
    assert link.run(2, remb=95_000, video=110_000, loss=0.01) == "T3"


def test_the_loss_limit_grows_back_from_a_stall_and_lets_go_of_a_sound_link():
    link = Link()
    link.run(5, remb=600_000, video=450_000)
    link.run(STEP_S, remb=600_000, video=0, audio=0, loss=0.5)  # a stall: nothing arrives, most lost
    assert link.governor.remb_cap() == MIN_REMB_BPS
    link.run(60, remb=600_000, video=450_000)
    assert link.governor.remb_cap() is None
    assert link.governor.estimate_bps == 640_000


def test_a_falling_remb_is_congestion_only_while_the_path_shows_a_queue():
    def cutting(link: Link, queue_s: float | None) -> bool:
        """aiortc's estimator cutting to 0.85 × what arrives, again and again, and the browser following."""
        link.settle_at("T3", remb=100_000)
        for remb in (60_000, 50_000, 42_000, 35_000, 30_000):
            link.run(1, remb=remb, video=remb / 0.85, audio=20_000, queue_s=queue_s)
        return link.governor.rung.video_on

    quiet = Link()
    assert cutting(quiet, queue_s=0.01) and quiet.budgets == []  # the delays show no queue: noise
    assert not cutting(Link(), queue_s=0.12)  # a queue stands: congestion, and T3 does not fit
    assert not cutting(Link(), queue_s=None)  # not measured: REMB decides, as before


def test_the_remb_floor_is_the_rungs_video_budget_while_the_path_is_quiet():
    link = Link()
    link.settle_at("T3", remb=100_000)
    governor = link.governor
    for queue_s, loss, floor in ((0.0, 0.0, 64_000), (0.2, 0.0, None), (0.0, 0.2, None), (None, 0.0, None)):
        link.now += STEP_S
        governor.update(UplinkSample(link.now, 50_000, 60_000, 20_000, loss, queue_s))
        assert governor.remb_floor() == floor, (queue_s, loss)
    assert Link().governor.remb_floor() is None  # T0: the browser's own encoder decides
