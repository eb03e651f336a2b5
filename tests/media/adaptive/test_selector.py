"""The tier selector: down fast, up slowly one rung at a time, caps at once, probes when held back."""

from media.adaptive.selector import NETWORK, Rung, TierSelector

VIDEO = [Rung("T0", 560_000), Rung("T1", 500_000), Rung("T2", 170_000), Rung("T3", 85_000), Rung("A", 0)]


def run(selector: TierSelector, share: float, start: float, seconds: float, stable_from: float = -1e9,
        cap: str | None = None, cap_reason: str | None = None, step: float = 0.25) -> list[tuple[float, str]]:
    """Tick the selector for `seconds`; return (time, rung) at each change."""
    changes = []
    t = start
    while t < start + seconds:
        if selector.decide(VIDEO, share, t - stable_from, t, cap, cap_reason):
            changes.append((round(t, 2), selector.rung))
        t += step
    return changes


def test_a_sustained_shortfall_moves_down_directly_to_the_rung_that_fits_within_two_seconds():
    selector = TierSelector("T0", "A", now=0.0)
    changes = run(selector, share=200_000, start=0.0, seconds=3.0, stable_from=0.0)
    assert changes and changes[0][1] == "T2" and changes[0][0] <= 2.0
    assert selector.reason == NETWORK


def test_a_brief_dip_does_not_move_it():
    selector = TierSelector("T0", "A", now=0.0)
    assert run(selector, share=450_000, start=0.0, seconds=0.5) == []
    assert run(selector, share=900_000, start=0.5, seconds=5.0) == []
    assert selector.rung == "T0"


def test_a_shortfall_while_the_link_is_congested_moves_at_once_without_the_hold():
    """A cut for loss, a queue or a falling REMB is no wobble to ride out: waiting a second more kept
    the link flooded. The same shortfall on a link that reports no congestion waits DOWN_HOLD_S."""
    calm = TierSelector("T0", "A", now=0.0)
    assert run(calm, share=400_000, start=10.0, seconds=0.75, stable_from=0.0) == []
    congested = TierSelector("T0", "A", now=0.0)
    assert congested.decide(VIDEO, 400_000, 0.0, 10.0) and congested.rung == "T2"


def test_a_severe_shortfall_moves_at_once():
    selector = TierSelector("T0", "A", now=0.0)
    assert selector.decide(VIDEO, 100_000, 0.0, 0.0)
    assert selector.rung == "T3"


def test_below_the_lowest_tier_video_pauses_and_resumes_only_with_margin_after_the_resume_hold():
    selector = TierSelector("T3", "A", now=0.0)
    assert run(selector, share=60_000, start=0.0, seconds=2.0)[-1][1] == "A"
    # enough for T3 but not its margin of max(10 %, 20 kbit/s): stays paused and asks for a probe
    assert run(selector, share=95_000, start=2.0, seconds=10.0, stable_from=2.0) == []
    assert selector.probe_bps > 0
    changes = run(selector, share=110_000, start=12.0, seconds=10.0, stable_from=2.0)
    assert changes[0][1] == "T3"


def test_up_needs_ten_stable_seconds_and_goes_one_rung_at_a_time():
    selector = TierSelector("T3", "A", now=0.0)
    changes = run(selector, share=2_000_000, start=0.0, seconds=40.0, stable_from=0.0)
    assert [name for _, name in changes] == ["T2", "T1", "T0"]
    times = [t for t, _ in changes]
    assert times[0] >= 10.0 and all(b - a >= 10.0 for a, b in zip(times, times[1:]))


def test_congestion_restarts_the_wait_before_going_up():
    selector = TierSelector("T2", "A", now=0.0)
    assert run(selector, share=1_000_000, start=0.0, seconds=12.0, stable_from=5.0) == []


def test_held_back_by_the_estimate_it_asks_to_probe_for_the_next_rung_with_margin():
    selector = TierSelector("T2", "A", now=0.0)
    run(selector, share=300_000, start=0.0, seconds=11.0, stable_from=0.0)
    assert selector.rung == "T2"
    assert selector.probe_bps == 500_000 * TierSelector.UP_MARGIN


def test_a_cap_applies_at_once_with_its_reason_and_lifting_it_returns_as_far_as_the_link_allows():
    selector = TierSelector("T0", "A", now=0.0)
    assert selector.decide(VIDEO, 2_000_000, 100.0, 1.0, cap="A", cap_reason="pinned")
    assert (selector.rung, selector.reason) == ("A", "pinned")
    assert selector.decide(VIDEO, 2_000_000, 100.0, 1.25, cap=None)
    assert (selector.rung, selector.reason) == ("T0", None)
    assert selector.decide(VIDEO, 2_000_000, 100.0, 1.5, cap="T3", cap_reason="save_data")
    assert (selector.rung, selector.reason) == ("T3", "save_data")


def test_a_cap_above_what_the_link_carries_reports_the_network():
    selector = TierSelector("T0", "A", now=0.0)
    selector.decide(VIDEO, 50_000, 100.0, 0.0, cap="T3", cap_reason="save_data")  # no congestion: the hold
    assert selector.rung == "T3"
    run(selector, share=50_000, start=0.25, seconds=1.5, cap="T3", cap_reason="save_data")
    assert (selector.rung, selector.reason) == ("A", NETWORK)



AUDIO = [Rung("full", 52_000), Rung("low", 23_700)]


def split(available: float, room: float, audio: TierSelector, video: TierSelector, seconds: float) -> None:
    """Tick an audio and a video selector as one subscriber's allocator shares a link: audio first, leaving
    `room` for the lowest video tier; video gets what audio left."""
    t = 0.0
    while t < seconds:
        audio.decide(AUDIO, available - room, t, t)
        spent = next(r.cost_bps for r in AUDIO if r.name == audio.rung)
        video.decide(VIDEO, available - spent, t, t)
        t += 0.5


def test_full_rate_audio_that_must_leave_room_for_the_picture_never_holds_paused_video_back():
    # 150 kbit/s, T3 at 85: full-rate audio (52) within 10 % of what it may take beside T3 × 1.2 (150 - 102)
    # was kept, and left the paused picture 98 kbit/s, short of the 105 it needs to resume: a 2G patient
    # spent 40 s on audio only that way (measured)
    audio, video = TierSelector("full", "low", now=0.0), TierSelector("A", "A", now=0.0)
    split(150_000, 85_000 * TierSelector.UP_MARGIN, audio, video, seconds=30.0)
    assert (audio.rung, video.rung) == ("full", "A")
    audio, video = TierSelector("full", "low", now=0.0, down_tolerance=1.0), TierSelector("A", "A", now=0.0)
    split(150_000, TierSelector.room_to_hold(85_000), audio, video, seconds=30.0)
    assert (audio.rung, video.rung) == ("low", "T3")


def test_the_room_to_hold_a_rung_clears_it_from_the_floor():
    room = TierSelector.room_to_hold(85_000)
    paused = TierSelector("A", "A", now=0.0)
    assert run(paused, share=room, start=0.0, seconds=6.0, stable_from=0.0)[-1][1] == "T3"
    short = TierSelector("A", "A", now=0.0)
    assert run(short, share=room - 1_000, start=0.0, seconds=6.0, stable_from=0.0) == []


def test_video_keeps_its_lowest_tier_down_to_the_floor_share_of_its_cost_then_pauses():
    selector = TierSelector("T3", "A", now=0.0, floor_share=TierSelector.VIDEO_FLOOR_SHARE)
    assert run(selector, share=85_000 * 0.8, start=0.0, seconds=5.0) == []  # a dip: the picture stays
    assert run(selector, share=85_000 * 0.7, start=5.0, seconds=3.0)[-1][1] == "A"
    # resuming still needs the full room: a picture that came back at 0.8 would pause again
    assert run(selector, share=85_000 * 0.8, start=8.0, seconds=10.0, stable_from=8.0) == []
    from_above = TierSelector("T2", "A", now=0.0, floor_share=TierSelector.VIDEO_FLOOR_SHARE)
    assert run(from_above, share=85_000 * 0.8, start=0.0, seconds=3.0)[-1][1] == "T3"


def test_the_probe_is_asked_for_before_the_hold_ends_and_the_move_waits_for_it():
    selector = TierSelector("T2", "A", now=0.0)
    lead = TierSelector.UP_HOLD_S - TierSelector.PROBE_LEAD_S
    assert run(selector, share=300_000, start=0.0, seconds=lead - 0.5, stable_from=0.0) == []
    assert selector.probe_bps == 0.0  # too early
    run(selector, share=300_000, start=lead - 0.5, seconds=1.0, stable_from=0.0)
    assert selector.probe_bps == 500_000 * TierSelector.UP_MARGIN  # its verdict will come as the hold ends
    # proven before the hold has passed: the move still waits for it
    assert run(selector, share=700_000, start=lead + 0.5, seconds=TierSelector.UP_HOLD_S - lead - 1.0,
               stable_from=0.0) == []
    assert run(selector, share=700_000, start=TierSelector.UP_HOLD_S - 0.5, seconds=1.0, stable_from=0.0)[0][1] == "T1"


def test_paused_video_asks_to_probe_for_what_resuming_needs_not_less():
    """Resuming needs the lowest tier's cost + max(10 %, 20 kbit/s); a probe for cost × UP_MARGIN proved a
    share just short of it, and with the estimate above the probe's target no further probe came."""
    selector = TierSelector("T3", "A", now=0.0)
    run(selector, share=60_000, start=0.0, seconds=2.0)
    assert selector.rung == "A"
    run(selector, share=80_000, start=2.0, seconds=10.0, stable_from=2.0)
    t3 = 85_000
    assert selector.probe_bps == t3 + max(TierSelector.RESUME_MARGIN * t3, TierSelector.RESUME_MARGIN_BPS)
    assert run(selector, share=selector.probe_bps, start=12.0, seconds=1.0, stable_from=2.0)[0][1] == "T3"


def test_going_up_needs_the_share_the_link_has_proved_and_asks_to_probe_for_it():
    """The estimate may grow past what the link has carried: staying is judged on it, going up on proof."""
    selector = TierSelector("T2", "A", now=0.0)
    for t in range(0, 24):
        selector.decide(VIDEO, 700_000, 100.0, t * 0.5, up_share_bps=300_000)
    assert selector.rung == "T2"  # the estimate's share clears T1, the proved one does not
    assert selector.probe_bps == 500_000 * TierSelector.UP_MARGIN
    assert selector.decide(VIDEO, 700_000, 100.0, 12.0, up_share_bps=700_000)
    assert selector.rung == "T1"
    # the proved share never takes a stream down: only the estimate's does
    assert not selector.decide(VIDEO, 600_000, 100.0, 12.5, up_share_bps=100_000)


def test_a_floor_held_as_long_as_any_step_up_asks_for_its_probe_no_sooner():
    audio = [Rung("full", 52_000), Rung("low", 23_700)]
    lead = TierSelector.UP_HOLD_S - TierSelector.PROBE_LEAD_S
    held = TierSelector("low", "low", now=0.0, down_tolerance=1.0, floor_hold_s=TierSelector.UP_HOLD_S)
    resumed = TierSelector("low", "low", now=0.0, down_tolerance=1.0)
    for t in range(0, int(lead * 2) - 1):
        held.decide(audio, 100_000, t * 0.5, t * 0.5, up_share_bps=30_000)
        resumed.decide(audio, 100_000, t * 0.5, t * 0.5, up_share_bps=30_000)
    assert resumed.probe_bps > 0  # a paused picture's hold: asked for from 2 s
    assert held.probe_bps == 0.0
    held.decide(audio, 100_000, lead, lead, up_share_bps=30_000)
    assert held.probe_bps > 0 and held.rung == "low"


def test_a_tier_that_no_longer_costs_less_than_the_original_gives_way_to_the_original_not_a_pause():
    """The allocator lists only tiers cheaper than what the publisher sends: when the publisher sends less
    (a browser's own congestion, a still scene), the subscriber's tier drops out of the list."""
    selector = TierSelector("T1", "A", now=0.0)
    without_t1 = [Rung("T0", 300_000), Rung("T2", 170_000), Rung("T3", 85_000), Rung("A", 0)]
    assert selector.decide(without_t1, 700_000, 100.0, 1.0)
    assert selector.rung == "T0"
    short = TierSelector("T1", "A", now=0.0)
    assert short.decide(without_t1, 200_000, 0.0, 1.0)  # congested: down from where it stands, to what fits
    assert short.rung == "T2"
