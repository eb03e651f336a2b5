"""Resends paced inside a share of the estimate, with a reserve that only audio may spend."""

from media.adaptive.allowance import RetransmitAllowance


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_before_any_estimate_nothing_is_limited():
    allowance = RetransmitAllowance(Clock())
    assert all(allowance.take(1200, "video") for _ in range(100))


def test_resends_stay_within_the_share_of_the_estimate_over_time():
    clock = Clock()
    allowance = RetransmitAllowance(clock)
    allowance.set_estimate(150_000)
    spent = 0
    for _ in range(1000):  # ten seconds of a NACK storm
        clock.t += 0.01
        while allowance.take(1000, "video"):
            spent += 1000
    limit = 150_000 * RetransmitAllowance.SHARE / 8 * (10 + RetransmitAllowance.BURST_S)
    assert 0.6 * limit < spent <= limit


def test_audio_may_spend_the_reserve_that_video_may_not():
    clock = Clock()
    allowance = RetransmitAllowance(clock)
    allowance.set_estimate(100_000)
    while allowance.take(100, "video"):
        pass
    assert not allowance.take(100, "video")
    assert allowance.take(100, "audio")


def test_after_a_cut_resends_may_take_only_the_share_of_the_new_estimate():
    """The allocator plans for at most `rate_bps` of resends: what they took over the last second was paced
    on the old estimate and cannot recur."""
    clock = Clock()
    allowance = RetransmitAllowance(clock)
    allowance.set_estimate(1_000_000)
    clock.t += 1.0
    allowance.set_estimate(140_000)
    assert allowance.rate_bps == 140_000 * RetransmitAllowance.SHARE
    spent = 0
    for _ in range(500):  # five seconds of NACKs for the flood before the cut
        clock.t += 0.01
        while allowance.take(1000, "video"):
            spent += 1000
    assert spent * 8 <= allowance.rate_bps * (5 + RetransmitAllowance.BURST_S)
