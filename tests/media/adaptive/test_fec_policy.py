"""The FEC rate follows the link: none on short round trips or clean links, more with more loss, bounded."""

from media.adaptive.fec_policy import HOLD_S, MAX_RATE, MIN_RATE, fec_rate


def test_short_round_trips_and_clean_links_get_none():
    assert fec_rate(0.05, 0.04) == 0.0  # NACK repairs in time on a 40 ms round trip
    assert fec_rate(0.05, None) == 0.0  # no round trip measured yet
    assert fec_rate(0.005, 0.6) == 0.0


def test_a_2g_link_gets_a_floor_and_more_loss_gets_more_up_to_a_ceiling():
    two_g = fec_rate(0.02, 0.6)
    assert two_g == MIN_RATE
    assert fec_rate(0.08, 0.6) > two_g
    assert fec_rate(0.4, 0.6) == MAX_RATE


def test_once_on_it_stays_on_until_the_loss_has_clearly_gone():
    assert fec_rate(0.008, 0.6) == 0.0
    assert fec_rate(0.008, 0.6, current=0.2) == MIN_RATE  # the floor, not what it was
    assert fec_rate(0.002, 0.6, current=0.2) == 0.0


def test_a_congested_link_never_gets_more_fec_than_it_has():
    assert fec_rate(0.15, 0.6, current=0.12, congested=True) == 0.12  # overload loss: FEC would add to it
    assert fec_rate(0.03, 0.6, current=0.3, congested=True) == fec_rate(0.03, 0.6)  # it may still fall
    assert fec_rate(0.15, 0.6, current=0.12) > 0.12
    assert fec_rate(0.7, 1.0, congested=True) == MIN_RATE  # a flooded link starts at the floor, not at 0.5


def test_a_quiet_loss_window_keeps_fec_at_the_floor_for_a_while_then_lets_it_go():
    assert fec_rate(0.0, 0.6, current=0.12, since_loss_s=2.0) == MIN_RATE  # one clean 2 s window: stay on
    assert fec_rate(0.0, 0.6, current=0.12, since_loss_s=HOLD_S + 0.5) == 0.0
    assert fec_rate(0.0, 0.6, since_loss_s=2.0) == 0.0  # the hold never turns FEC on
    assert fec_rate(0.0, 0.05, current=0.12, since_loss_s=2.0) == 0.0  # a short round trip: off at once
