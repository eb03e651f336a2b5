"""The link estimator: loss-based with REMB as a fast-falling ceiling; resends and probes count as sent."""

import pytest

from media.adaptive.estimator import LinkEstimator, StreamReport


class Link:
    """Feeds an estimator what a subscriber on a link would report: `rate_bps` sent, `loss` of it lost."""

    def __init__(self) -> None:
        self.t = 0.0
        self.estimator = LinkEstimator(0.0)
        self.sent = 0
        self.lost = 0
        self.highest = 1000

    def run(self, seconds: float, send_bps: float, loss: float = 0.0, remb: float | None = None,
            covered_bps: float | None = None, rtt: float | None = None) -> float:
        end = self.t + seconds
        while self.t < end:
            self.t += 0.25
            self.sent += int(send_bps * 0.25 / 8)
            packets = max(1, int(send_bps * 0.25 / 8 / 500))  # 500-byte packets
            self.highest += packets
            self.lost += round(packets * loss)
            self.estimator.on_sent(self.sent, self.t)
            self.estimator.on_report(1, StreamReport(self.lost, self.highest), self.t)
            if remb is not None:
                covered = send_bps if covered_bps is None else covered_bps
                self.estimator.on_remb(int(remb), covered, self.t)
            if rtt is not None and self.t % 1.0 == 0:  # about one round-trip sample a second
                self.estimator.on_rtt(rtt, self.t)
            self.estimator.update(self.t)
        return self.estimator.estimate_bps


def test_heavy_loss_cuts_the_estimate_below_what_is_sent():
    link = Link()
    estimate = link.run(3.0, 500_000, loss=0.3)
    assert estimate < 500_000 * 0.9
    assert link.estimator.congested


def test_random_loss_below_ten_percent_is_not_congestion_and_cuts_nothing():
    link = Link()
    link.run(2.0, 100_000, loss=0.5)  # cut well below the initial estimate first
    link.run(3.0, 100_000)
    before = link.estimator.estimate_bps
    after = link.run(5.0, 100_000, loss=0.05)
    assert before <= after <= 1.5 * 100_000 * 1.01 and not link.estimator.congested


def test_one_low_remb_is_noise_two_in_a_row_a_queue():
    link = Link()
    link.run(2.0, 500_000, remb=800_000)
    link.estimator.on_remb(200_000, 500_000, link.t + 0.1)
    link.estimator.on_remb(800_000, 500_000, link.t + 0.2)
    link.t += 0.25
    link.estimator.update(link.t)
    assert not link.estimator.congested


def test_growth_is_bounded_by_what_the_link_was_given():
    link = Link()
    link.run(2.0, 100_000, loss=0.5)  # cut hard first
    low = link.estimator.estimate_bps
    estimate = link.run(LinkEstimator.CEILING_MEMORY_S + 30.0, 100_000, loss=0.0)  # past the loss's ceiling
    assert low < estimate <= 1.5 * 100_000 * 1.01


def test_a_falling_remb_with_some_loss_is_a_building_queue_below_the_loss_threshold():
    link = Link()
    link.run(2.0, 500_000, remb=800_000)
    estimate = link.run(1.5, 500_000, remb=255_000, loss=0.09)  # 0.85 × 300 kbit/s arriving of 500 sent
    assert estimate <= 0.62 * 500_000 and link.estimator.congested


def test_a_remb_fall_without_loss_counts_only_when_severe():
    link = Link()
    link.run(2.0, 500_000, remb=800_000)
    assert link.run(2.0, 500_000, remb=300_000) > 500_000  # aiortc's REMB wanders: no loss, no queue
    assert link.run(0.5, 500_000, remb=100_000) <= 0.5 * 500_000  # one cut takes at most half


def test_a_remb_at_the_usual_backoff_of_what_arrives_is_no_queue():
    link = Link()
    estimate = link.run(5.0, 500_000, remb=0.85 * 500_000)  # one overuse backoff, everything arrives
    assert estimate >= 500_000 and not link.estimator.congested


def test_a_remb_is_weighed_against_the_streams_it_covers_only():
    # aiortc sends one REMB per receiver: 40 kbit/s for a 45 kbit/s stream says nothing of the 500 kbit/s total
    link = Link()
    estimate = link.run(5.0, 500_000, remb=40_000, covered_bps=45_000)
    assert estimate > 500_000 and not link.estimator.congested


def test_a_successful_probe_lifts_the_growth_ceiling_for_a_while():
    link = Link()
    link.run(2.0, 100_000, loss=0.5)
    link.run(2.0, 100_000)
    assert link.estimator.estimate_bps < 200_000
    link.estimator.probe_succeeded(400_000, link.t)
    assert link.estimator.estimate_bps >= 400_000
    assert link.run(1.0, 100_000) >= 400_000


def test_what_a_link_carries_is_what_it_was_sent_or_a_fresh_proof_never_the_estimate_grown_without_one():
    link = Link()
    link.run(10.0, 100_000)  # clean: the estimate grows past what is sent, with nothing to show for it
    carried = link.estimator.carried_bps(link.t)
    assert link.estimator.estimate_bps > 1.3 * carried
    assert 0.8 * 100_000 < carried < 1.2 * 100_000
    link.estimator.probe_succeeded(150_000, link.t)
    assert link.estimator.carried_bps(link.t) == 150_000
    link.run(LinkEstimator.PROBE_PROOF_S + 1, 100_000)  # the proof lapses without traffic to confirm it
    assert link.estimator.carried_bps(link.t) < 1.2 * 100_000


def test_a_rate_far_past_a_remembered_ceiling_is_out_of_reach_until_the_ceiling_expires():
    link = Link()
    assert link.estimator.within_reach(10_000_000, link.t)  # no ceiling: anything may be probed
    link.run(3.0, 300_000)
    link.run(2.0, 300_000, loss=0.4)  # the link ends at about what got through
    ceiling = link.estimator.ceiling_bps(link.t)
    assert ceiling < 300_000
    assert link.estimator.within_reach(1.4 * ceiling, link.t)
    assert not link.estimator.within_reach(1.6 * ceiling, link.t)  # T3 wanting T2 on 2G: 1.6–1.9 ×
    link.run(LinkEstimator.CEILING_MEMORY_S + 5, 100_000)  # (the reports about the loss came until ~7 s)
    assert link.estimator.within_reach(1.6 * ceiling, link.t)


def test_without_feedback_the_initial_estimate_holds():
    estimator = LinkEstimator(0.0)
    estimator.on_sent(10_000, 1.0)
    assert estimator.update(1.0) == LinkEstimator.INITIAL_BPS


def test_stable_for_counts_from_the_last_congestion():
    link = Link()
    link.run(2.0, 500_000, loss=0.3)
    assert link.estimator.stable_for(link.t) == 0.0
    link.run(4.0, 100_000, loss=0.0)
    # the loss window still holds the lossy reports for about its length
    assert 1.5 <= link.estimator.stable_for(link.t) < 4.0


def test_stale_loss_reports_after_moving_down_do_not_compound_the_cut():
    link = Link()
    link.run(3.0, 600_000)
    link.run(1.0, 600_000, loss=0.5)  # a flood into a small link
    first_cut = link.estimator.estimate_bps
    assert first_cut < 600_000
    # we moved down at once; reports about the flood keep arriving for a while
    link.run(1.0, 100_000, loss=0.5)
    assert link.estimator.estimate_bps >= 0.5 * first_cut


def test_a_failed_probe_returns_to_the_level_before_it_and_its_own_loss_cuts_no_further():
    link = Link()
    link.run(5.0, 120_000)
    before = link.estimator.estimate_bps
    link.run(0.5, 280_000, loss=0.4)  # the probe overflowed the link
    link.estimator.probe_failed(before, link.t)
    link.run(1.5, 120_000, loss=0.3)  # reports about the probe's packets still arrive
    assert link.estimator.estimate_bps >= 0.9 * before


def test_loss_before_the_sfu_is_not_counted_against_the_subscribers_link():
    link = Link()
    link.run(2.0, 500_000)
    # the publisher's link lost 30 % of what we would have forwarded: the subscriber reports it as lost
    for _ in range(8):
        link.t += 0.25
        link.sent += int(500_000 * 0.25 / 8)
        link.highest += 62
        link.lost += 19
        link.estimator.on_sent(link.sent, link.t)
        link.estimator.on_report(1, StreamReport(link.lost, link.highest, resent=0, unsent=link.lost), link.t)
        link.estimator.update(link.t)
    assert not link.estimator.congested and link.estimator.estimate_bps >= 500_000


def test_a_standing_queue_in_the_round_trips_cuts_below_what_is_sent_though_the_loss_stays_under_ten_percent():
    # a 2G patient: 160 kbit/s into 150; the drop-tail queue stays full, losing 5 % and adding 200 ms
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)  # the link's own round trip
    estimate = link.run(3.5, 160_000, loss=0.05, rtt=0.8)
    assert estimate <= LinkEstimator.QUEUE_CUT * 160_000 * 1.01 and link.estimator.congested
    assert link.estimator.queue_delay_s == pytest.approx(0.2)


def test_without_the_round_trips_the_same_loss_is_not_congestion():
    link = Link()
    link.run(5.0, 120_000)
    assert link.run(6.0, 160_000, loss=0.05) > 160_000 and not link.estimator.congested


def test_one_late_round_trip_is_a_burst_not_a_queue():
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)
    before = link.estimator.estimate_bps
    link.estimator.on_rtt(0.95, link.t + 0.1)  # one report delayed behind a keyframe's packets
    assert link.run(3.0, 120_000, rtt=0.6) >= before and not link.estimator.congested


def test_a_large_queue_counts_after_two_round_trips_a_modest_one_after_three():
    """A 3G → 2G step adds 400 ms to the round trip at once: two samples say so. A 150 ms queue, which a
    keyframe's burst can cause, still needs three in a row."""
    for excess, congested_after in ((0.45, 2), (0.15, 3)):
        link = Link()
        link.run(5.0, 600_000, rtt=0.2)
        seen = []
        for _ in range(3):
            link.t += 0.5
            link.estimator.on_rtt(0.2 + excess, link.t)
            link.estimator.update(link.t)
            seen.append(link.estimator.congested)
        assert seen.index(True) + 1 == congested_after, (excess, seen)


def test_after_a_standing_queue_the_estimate_grows_no_higher_until_that_memory_fades():
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)
    link.run(3.0, 160_000, loss=0.05, rtt=0.8)
    ceiling = link.estimator.estimate_bps
    held = link.run(LinkEstimator.CEILING_MEMORY_S - 5.0, 120_000, rtt=0.6)  # moved down: clean again
    assert held <= ceiling * 1.001  # loss-based growth alone would be at 1.5 × 120 kbit/s by now
    assert link.run(15.0, 120_000, rtt=0.6) > ceiling * 1.1


def test_heavy_loss_shows_what_the_link_carries_and_growth_stops_there_for_a_while():
    link = Link()
    link.run(5.0, 100_000)
    link.run(2.0, 200_000, loss=0.3)  # 140 kbit/s got through
    held = link.run(10.0, 120_000)
    assert held <= 0.7 * 200_000 * 1.01
    assert link.run(LinkEstimator.CEILING_MEMORY_S, 120_000) > 0.7 * 200_000 * 1.1


def test_a_probe_near_the_ceiling_raises_it_and_a_failed_one_sets_it():
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)
    link.run(3.0, 160_000, loss=0.05, rtt=0.8)
    link.run(3.0, 110_000, rtt=0.6)
    link.estimator.probe_succeeded(150_000, link.t)
    assert link.run(10.0, 140_000, rtt=0.6) == pytest.approx(150_000, rel=0.01)  # proven, then held there
    before = link.estimator.estimate_bps
    link.estimator.probe_failed(before, link.t)
    assert link.run(10.0, 140_000, rtt=0.6) <= before * LinkEstimator.PROBE_FAIL_KEEP * 1.001


def test_the_ceiling_a_probe_may_pass_is_where_the_link_last_ended_while_remembered():
    link = Link()
    assert link.estimator.ceiling_bps(link.t) == float("inf")
    link.run(5.0, 150_000)
    before = link.estimator.estimate_bps
    link.estimator.probe_failed(before, link.t)
    assert link.estimator.ceiling_bps(link.t) == pytest.approx(before * LinkEstimator.PROBE_FAIL_KEEP)
    link.run(LinkEstimator.CEILING_MEMORY_S + 1.0, 100_000)
    assert link.estimator.ceiling_bps(link.t) == float("inf")


def test_a_probe_well_past_the_ceiling_forgets_it():
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)
    link.run(3.0, 160_000, loss=0.05, rtt=0.8)
    link.run(3.0, 110_000, rtt=0.6)
    assert link.estimator.near_ceiling(link.t)
    link.estimator.probe_succeeded(300_000, link.t)  # the patient walked out to a better signal
    assert not link.estimator.near_ceiling(link.t)


def test_a_queue_seen_in_round_trips_that_then_stop_coming_is_not_a_queue_for_ever():
    # video paused: the remaining stream carries no sender reports, so the last samples are all there is
    link = Link()
    link.run(5.0, 120_000, rtt=0.6)
    link.run(3.0, 160_000, loss=0.05, rtt=0.8)
    assert link.estimator.congested
    link.run(LinkEstimator.RTT_FRESH_S + 2.0, 20_000)
    assert not link.estimator.congested and link.estimator.estimate_bps > 40_000


def test_a_round_trip_that_grows_and_stays_whatever_we_send_is_the_path_not_a_queue():
    # a 3G → 2G handover: 200 ms more each way; cutting drains nothing, so it becomes the new base
    link = Link()
    link.run(10.0, 120_000, rtt=0.2)
    before = link.estimator.estimate_bps
    link.run(3.0, 120_000, rtt=0.6)
    assert link.estimator.congested  # first taken for a queue, and cut
    link.run(LinkEstimator.QUEUE_PATIENCE_S + 2.0, 40_000, rtt=0.6)  # moved down: the "queue" stays
    assert not link.estimator.congested and link.estimator.queue_delay_s == 0.0
    assert link.estimator.estimate_bps >= 0.9 * min(before, 1.5 * 40_000)


def test_a_queue_we_still_fill_is_not_taken_for_a_longer_path():
    link = Link()
    link.run(10.0, 120_000, rtt=0.6)
    link.run(LinkEstimator.QUEUE_PATIENCE_S + 3.0, 150_000, rtt=0.85)  # the sender did not move down
    assert link.estimator.congested and link.estimator.queue_delay_s > 0.2


def test_a_much_shorter_round_trip_is_a_better_path_and_forgets_the_old_links_ceiling():
    link = Link()
    link.run(5.0, 50_000, rtt=0.85)  # edge: 400 ms each way
    before = link.estimator.estimate_bps
    link.estimator.probe_failed(before, link.t)
    assert link.estimator.ceiling_bps(link.t) < before
    link.run(2.0, 50_000, rtt=0.8)  # a little shorter: still the same path
    assert link.estimator.ceiling_bps(link.t) < before
    assert link.estimator.path_changed_at < 0
    link.run(2.0, 50_000, rtt=0.22)  # handed over to 3G
    assert link.estimator.ceiling_bps(link.t) == float("inf")
    assert link.estimator.path_changed_at > 0
    changed = link.estimator.path_changed_at
    link.run(5.0, 50_000, rtt=0.2)  # the new path's own jitter changes nothing more
    assert link.estimator.path_changed_at == changed


def test_a_lossy_window_cuts_once_per_report_not_again_while_no_report_comes():
    # video paused: only audio reports, seconds apart; the last window's loss is all there is
    link = Link()
    link.run(5.0, 100_000)
    link.run(3.0, 100_000, loss=0.2)
    cut = link.estimator.estimate_bps
    assert cut < 100_000
    for _ in range(40):  # 10 s of ticks, no report
        link.t += 0.25
        link.sent += int(22_000 * 0.25 / 8)
        link.estimator.on_sent(link.sent, link.t)
        link.estimator.update(link.t)
    assert link.estimator.estimate_bps >= cut * 0.99
    assert not link.estimator.congested


def test_a_remb_climbing_after_video_resumes_is_no_queue_though_far_below_what_is_sent():
    link = Link()
    link.run(5.0, 22_000, remb=18_000)  # video paused: Chromium's REMB follows what audio brings
    remb = 19_000.0
    for _ in range(16):  # 4 s after resuming at 120 kbit/s: REMB climbs a few % a second
        link.t += 0.25
        link.sent += int(120_000 * 0.25 / 8)
        link.highest += 30
        link.estimator.on_sent(link.sent, link.t)
        link.estimator.on_report(1, StreamReport(link.lost, link.highest), link.t)
        remb *= 1.02
        link.estimator.on_remb(int(remb), 100_000, link.t)
        link.estimator.update(link.t)
        assert not link.estimator.congested
    # the same low REMB, but falling: a queue
    for _ in range(3):
        link.t += 0.25
        remb *= 0.8
        link.estimator.on_remb(int(remb), 100_000, link.t)
    link.estimator.update(link.t)
    assert link.estimator.queue_drop(link.t) < 1.0


def test_a_remb_stuck_where_it_fell_cuts_once_and_a_further_fall_cuts_again():
    """After a 3G → 2G step Chromium's REMB stayed at 15–35 kbit/s for 10 s and more while the link carried
    ~115 kbit/s at 6–9 % loss: cut at every hold on that figure, the estimate fell below the lowest video
    tier (measured). A REMB that does not move says nothing new after its first cut. (Rates here are four
    times those, so that the 500-byte packets of `Link` can show 7 % loss.)"""
    link = Link()
    link.run(4.0, 480_000, remb=600_000, loss=0.07)
    first = link.run(1.0, 480_000, remb=120_000, loss=0.07)  # REMB falls: a queue with some loss, one cut
    assert first <= 0.5 * 480_000 + 1
    stuck = link.run(6.0, 240_000, remb=120_000, loss=0.07)  # the same REMB for 6 s, four holds long
    assert stuck == pytest.approx(first)  # held; the old code halved again at every hold, to 60 kbit/s
    assert link.estimator.congested  # and no growth while it says a queue may be there
    again = link.run(1.0, 240_000, remb=60_000, loss=0.07)  # it falls further: news, cut again
    assert again < stuck and link.estimator.congested
    # once REMB has risen past where it fell, a fall to the old level counts again
    link.run(3.0, 240_000, remb=300_000)
    before = link.estimator.estimate_bps
    assert link.run(2.0, 240_000, remb=120_000, loss=0.07) < before and link.estimator.congested


def test_a_low_remb_is_no_queue_while_our_round_trips_sit_at_a_settled_base():
    """Chromium's REMB stayed at a third of what arrived, for seconds, while our round trips showed no delay
    at all; read as a queue it paused video (measured). Our own round trips overrule it; a base that only
    just moved (a link step, a rebase) is not trusted yet."""
    quiet = Link()
    quiet.run(8.0, 480_000, remb=600_000, loss=0.05, rtt=0.2)
    held = quiet.run(3.0, 480_000, remb=160_000, loss=0.05, rtt=0.2)
    assert held >= 480_000 and not quiet.estimator.congested
    queued = Link()  # the same REMB with the round trips 150 ms above their base: a queue, cut
    queued.run(8.0, 480_000, remb=600_000, loss=0.05, rtt=0.2)
    assert queued.run(3.0, 480_000, remb=160_000, loss=0.05, rtt=0.35) <= 0.5 * 480_000 + 1
    unsettled = Link()  # round trips only 2 s old: the base is not known yet, REMB counts
    unsettled.run(6.0, 480_000, remb=600_000, loss=0.05)
    assert unsettled.run(3.0, 480_000, remb=160_000, loss=0.05, rtt=0.2) <= 0.5 * 480_000 + 1


def _step_to_2g(nacked: float) -> Link:
    """The original stream (650 kbit/s) on 3G, then the link steps to 2G: round trips 450 ms longer (the
    path and a full queue), and the subscriber NACKs `nacked` of the latest video packets."""
    link = Link()
    link.run(10.0, 650_000, rtt=0.2)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_nacked(nacked)
    link.run(2.0, 650_000, loss=0.05, rtt=0.65)
    return link


def test_a_flooded_link_drops_to_the_lowest_picture_at_once_not_by_halves():
    flooded = _step_to_2g(nacked=0.3)
    assert flooded.estimator.estimate_bps == pytest.approx(121_000) and flooded.estimator.congested
    # what got through, at most: the ceiling probes may reach for
    assert flooded.estimator.ceiling_bps(flooded.t) == pytest.approx(650_000 * 0.7, rel=0.05)
    longer_path = _step_to_2g(nacked=0.02)  # the same round trips with 2G's random loss only: a longer path
    assert longer_path.estimator.estimate_bps > 0.45 * 1_000_000  # cut by half at most, as any queue


def test_after_a_flood_a_queue_that_stays_is_the_longer_path_and_cuts_no_further():
    link = _step_to_2g(nacked=0.3)
    link.estimator.on_nacked(0.02)  # on the lowest picture the link loses only at random
    link.run(LinkEstimator.FLOOD_PATIENCE_S + 1.0, 110_000, rtt=0.65)
    assert link.estimator.queue_delay_s == 0.0 and not link.estimator.congested  # rebased
    # the flood's cut was real: not undone, and nothing cut it further while the queue stood
    assert 121_000 <= link.estimator.estimate_bps < 1.5 * 121_000
    assert link.estimator.ceiling_bps(link.t) < 650_000


def test_a_handover_to_a_shorter_path_is_seen_though_its_round_trips_fall_in_steps():
    link = Link()
    link.run(10.0, 110_000, rtt=0.6)
    link.estimator.probe_failed(link.estimator.estimate_bps, link.t)
    for rtt in (0.46, 0.32, 0.2):  # 2G → 3G: packets in flight on the old path answer first
        link.t += 0.3
        link.estimator.on_rtt(rtt, link.t)
    assert link.estimator.path_changed_at > 0
    assert link.estimator.ceiling_bps(link.t) == float("inf")


def test_a_remb_fall_with_the_subscriber_nacking_is_a_flood_too():
    """Round trips come about once a second; at a step REMB may fall first. With NACKs beside it, it is the
    flood; without, REMB's usual cut (to what it says arrives)."""
    for nacked, floor in ((0.3, True), (0.0, False)):
        link = Link()
        link.run(10.0, 650_000, rtt=0.2)
        link.estimator.lowest_picture_bps = 121_000
        link.estimator.on_nacked(nacked)
        estimate = link.run(1.0, 650_000, loss=0.06, remb=70_000, rtt=0.65)  # one sample: no standing queue
        assert link.estimator.queue_delay_s < LinkEstimator.QUEUE_DELAY_S
        assert (estimate == pytest.approx(121_000)) is floor, (nacked, estimate)
        assert estimate < 650_000 and link.estimator.congested


def test_a_remb_that_stays_where_it_fell_after_a_flood_cuts_no_further():
    """The flood's cut answers the REMB fall beside it: the same low REMB, now measured against the
    lowest picture's rate, must not cut again (it took the estimate below that picture and paused it)."""
    link = Link()
    link.run(10.0, 650_000, rtt=0.2)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_nacked(0.3)
    link.run(1.0, 650_000, loss=0.06, remb=30_000, rtt=0.65)
    assert link.estimator.estimate_bps == pytest.approx(121_000)
    link.estimator.on_nacked(0.03)  # on the lowest picture only 2G's random loss
    estimate = link.run(3 * LinkEstimator.CUT_HOLD_S, 110_000, loss=0.02, remb=30_000, rtt=0.65)
    assert estimate >= 121_000


def test_after_a_handover_to_a_shorter_path_a_low_remb_is_no_queue_while_round_trips_sit_at_its_base():
    """After a 2G → 3G step Chromium's REMB flipped between 13 and 26 kbit/s while 145 kbit/s arrived at the
    new path's own round trip: the new base is trusted at once, as a settled one."""
    link = Link()
    link.run(20.0, 145_000, rtt=0.6)
    for rtt in (0.43, 0.2):  # the step: the round trips fall to the 3G path's
        link.t += 0.5
        link.estimator.on_rtt(rtt, link.t)
    assert link.estimator.path_changed_at > 0
    estimate = link.run(4.0, 145_000, remb=13_000, rtt=0.2)
    assert estimate >= 145_000 and not link.estimator.congested


def test_loss_still_reported_about_the_flood_after_its_cut_cuts_no_further_but_loss_after_it_does():
    """On 2G the receiver reports about the flood's packets come a round trip after the cut, and stay in the
    loss window 2 s more: they describe the original stream, not the lowest picture now sent."""
    link = Link()
    link.run(10.0, 650_000, rtt=0.2)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_nacked(0.3)
    link.run(1.0, 650_000, loss=0.06, remb=30_000, rtt=0.65)  # the flood, seen by REMB and NACKs
    assert link.estimator.estimate_bps == pytest.approx(121_000)
    link.estimator.on_nacked(0.02)
    # reports about the flood's packets, a round trip late over a flooded uplink, for 4.75 s after the cut
    # (this model's reports describe what is sent now, and its sent rates follow the same 2 s window)
    lowest = min(link.run(0.25, 110_000, loss=0.6, remb=30_000) for _ in range(19))
    assert lowest >= 121_000
    estimate = link.run(4.0, 110_000, loss=0.3, remb=30_000)  # still losing: it cannot carry even that
    assert estimate < 110_000


def test_after_a_flood_a_link_that_loses_the_lowest_picture_too_is_cut_without_waiting():
    link = Link()
    link.run(10.0, 650_000, rtt=0.2)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_nacked(0.3)
    link.run(1.0, 650_000, loss=0.06, remb=30_000, rtt=0.65)  # the flood
    link.estimator.on_nacked(0.3)  # an edge link: the lowest picture's packets are lost as well
    lowest = min(link.run(0.25, 110_000, loss=0.35, remb=30_000) for _ in range(19))
    assert lowest < 110_000


def test_nacks_that_come_a_round_trip_after_a_remb_cut_still_show_the_flood():
    """REMB fell first, with few NACKs yet: REMB's usual cut. The flood's NACKs a round trip later take the
    estimate to the lowest picture then, not at the next halving; 2G's random loss alone does not."""
    for nacked, floor in ((0.3, True), (0.02, False)):
        link = Link()
        link.run(10.0, 650_000, rtt=0.2)
        link.estimator.lowest_picture_bps = 121_000
        link.estimator.on_nacked(0.02)
        cut = link.run(1.0, 650_000, remb=120_000, rtt=0.45)  # one late round trip: no standing queue
        assert 121_000 < cut < 650_000  # REMB's cut, to the middle
        link.estimator.on_nacked(nacked)
        estimate = link.run(0.5, 300_000, remb=110_000, covered_bps=300_000, rtt=0.45)  # the same fall
        assert (estimate < 1.05 * 121_000) is floor and estimate >= 121_000, (nacked, estimate)


def test_the_subscribers_own_uplink_stepping_drops_to_the_lowest_picture_before_any_nack():
    """A handover shows in the subscriber's uplink first; its downlink's NACKs cross that flooded uplink."""
    link = Link()
    link.run(10.0, 650_000, rtt=0.2)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_path_step(link.t)
    link.run(0.25, 650_000, rtt=0.2)  # no NACK, no loss, no queue seen yet
    assert link.estimator.estimate_bps == pytest.approx(121_000) and link.estimator.congested
    assert link.estimator.ceiling_bps(link.t) == float("inf")  # nothing showed where the downlink ends
    link.run(LinkEstimator.PATH_STEP_FRESH_S, 121_000, rtt=0.2)
    assert link.estimator.estimate_bps >= 121_000  # heard once: it cuts nothing more


def test_a_path_step_heard_too_late_or_on_the_lowest_picture_cuts_nothing():
    stale = Link()
    stale.run(10.0, 650_000, rtt=0.2)
    stale.estimator.lowest_picture_bps = 121_000
    stale.estimator.on_path_step(stale.t - LinkEstimator.PATH_STEP_FRESH_S - 0.1)
    assert stale.run(0.25, 650_000, rtt=0.2) > 500_000
    lowest = Link()
    lowest.run(10.0, 110_000, rtt=0.6)
    lowest.estimator.lowest_picture_bps = 121_000
    lowest.estimator.estimate_bps = before = 118_000  # what the lowest picture's subscriber is left with
    lowest.estimator.on_path_step(lowest.t)
    assert lowest.run(0.25, 110_000, rtt=0.6) >= before and not lowest.estimator.congested


def test_a_remb_that_falls_only_after_a_flood_cut_is_the_floods_and_cuts_no_further():
    """A path step cuts before REMB has fallen. Chromium's REMB then falls and stays low for seconds; read as
    news once what was sent is only the lowest picture's, it cut below that and paused the picture
    (measured: 69 kbit/s, paused for 20 s)."""
    link = Link()
    link.run(10.0, 650_000, rtt=0.2, remb=700_000)
    link.estimator.lowest_picture_bps = 121_000
    link.estimator.on_path_step(link.t)
    link.run(0.25, 650_000, rtt=0.2, remb=700_000)
    assert link.estimator.estimate_bps == pytest.approx(121_000)
    # REMB has not fallen yet: only once what was sent lately (CAUSE_S, each rate over LOSS_WINDOW_S) is the
    # lowest picture's does it fall far below what arrives, and stays there
    # (no round trip measured meanwhile, so that only REMB speaks)
    link.run(LinkEstimator.CAUSE_S + LinkEstimator.LOSS_WINDOW_S, 110_000, remb=700_000)
    link.run(1.0, 110_000, remb=30_000)
    assert link.estimator.estimate_bps >= 0.95 * 121_000
    link.estimator.on_nacked(0.3)  # but a link that loses even the lowest picture is still cut (edge)
    link.run(2.0, 110_000, loss=0.3, remb=20_000)
    assert link.estimator.estimate_bps < 0.9 * 121_000
