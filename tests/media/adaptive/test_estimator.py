"""The link estimator: loss-based with REMB as a fast-falling ceiling; resends and probes count as sent."""

from media.adaptive.estimator import LinkEstimator, StreamReport


class Link:
    """Feeds an estimator what a subscriber on a link would report: `rate_bps` sent, `loss` of it lost."""

    def __init__(self) -> None:
        self.t = 0.0
        self.estimator = LinkEstimator(0.0)
        self.sent = 0
        self.lost = 0
        self.highest = 1000

    def run(self, seconds: float, send_bps: float, loss: float = 0.0, remb: float | None = None) -> float:
        end = self.t + seconds
        while self.t < end:
            self.t += 0.25
            self.sent += int(send_bps * 0.25 / 8)
            packets = max(1, int(send_bps * 0.25 / 8 / 1000))
            self.highest += packets
            self.lost += round(packets * loss)
            self.estimator.on_sent(self.sent, self.t)
            self.estimator.on_report(1, StreamReport(self.lost, self.highest), self.t)
            if remb is not None:
                self.estimator.on_remb(int(remb), self.t)
            self.estimator.update(self.t)
        return self.estimator.estimate_bps


def test_heavy_loss_cuts_the_estimate_below_what_is_sent():
    link = Link()
    estimate = link.run(3.0, 500_000, loss=0.3)
    assert estimate < 500_000 * 0.9
    assert link.estimator.congested


def test_loss_in_the_hold_zone_neither_cuts_nor_grows():
    link = Link()
    link.run(3.0, 400_000, loss=0.0)
    before = link.estimator.estimate_bps
    after = link.run(5.0, 400_000, loss=0.05)
    assert after == before and not link.estimator.congested


def test_growth_is_bounded_by_what_the_link_was_given():
    link = Link()
    link.run(2.0, 100_000, loss=0.5)  # cut hard first
    low = link.estimator.estimate_bps
    estimate = link.run(60.0, 100_000, loss=0.0)
    assert low < estimate <= 1.5 * 100_000 * 1.01


def test_a_falling_remb_is_a_building_queue_even_without_loss():
    link = Link()
    link.run(2.0, 500_000, remb=800_000)
    estimate = link.run(0.5, 500_000, remb=400_000)  # REMB halved: the link carries about half of what we sent
    assert estimate <= 260_000 and link.estimator.congested


def test_the_level_of_remb_is_no_limit_only_its_fall():
    # a REMB that covers one of several streams (aiortc sends one per receiver) sits far below the total
    link = Link()
    estimate = link.run(5.0, 500_000, remb=40_000)
    assert estimate > 500_000 and not link.estimator.congested


def test_a_successful_probe_lifts_the_growth_ceiling_for_a_while():
    link = Link()
    link.run(2.0, 100_000, loss=0.5)
    link.run(2.0, 100_000)
    assert link.estimator.estimate_bps < 200_000
    link.estimator.probe_succeeded(400_000, link.t)
    assert link.estimator.estimate_bps >= 400_000
    assert link.run(1.0, 100_000) >= 400_000


def test_without_feedback_the_initial_estimate_holds():
    estimator = LinkEstimator(0.0)
    estimator.on_sent(10_000, 1.0)
    assert estimator.update(1.0) == LinkEstimator.INITIAL_BPS


def test_stable_for_counts_from_the_last_congestion():
    link = Link()
    link.run(2.0, 500_000, loss=0.3)
    assert link.estimator.stable_for(link.t) == 0.0
    link.run(4.0, 100_000, loss=0.0)
    # the loss window still holds the lossy reports for about a second
    assert 2.5 <= link.estimator.stable_for(link.t) < 4.0
