"""Link profiles: the named ones match the issue, custom specs parse or fail clearly."""

from __future__ import annotations

import pytest

from bench.profiles import PROFILES, ProfileError, get_profile, parse_spec


def test_named_profiles_carry_the_rates_delays_and_losses_of_the_issue() -> None:
    expected = {
        "4g": (8_000_000, 40, 0.001),
        "3g": (1_500_000, 100, 0.01),
        "2g": (150_000, 300, 0.02),
        "edge-bad": (64_000, 400, 0.05),
    }
    for name, (rate, delay, loss) in expected.items():
        p = get_profile(name)
        assert (p.rate_bps, p.delay_ms, p.loss) == (rate, delay, loss)
        assert p.shaped
    assert not PROFILES["lan"].shaped


def test_a_custom_spec_parses_units_suffixes_and_percentages() -> None:
    p = parse_spec("rate=1.5M,delay=0.1s,jitter=20ms,loss=2%,burst=4,queue=500,reorder=yes")
    assert p.rate_bps == 1_500_000
    assert p.delay_ms == 100.0 and p.jitter_ms == 20.0 and p.queue_ms == 500.0
    assert p.loss == pytest.approx(0.02) and p.burst == 4.0 and p.reorder
    assert parse_spec("rate=64kbit").rate_bps == 64_000
    assert parse_spec("rate=300k,delay=50").delay_ms == 50.0
    assert get_profile("loss=1").loss == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rate=fast", "rate='fast'"),
        ("delay=-5ms", "delay='-5ms'"),
        ("loss=150%", "loss must be in"),
        ("loss=two", "loss='two'"),
        ("burst=0.5,loss=1%", "burst"),
        ("speed=3", "unknown key 'speed'"),
        ("delay=10,delay=20", "delay given twice"),
        ("delay", "expected key=value"),
        ("reorder=maybe", "reorder='maybe'"),
    ],
)
def test_a_bad_spec_is_refused_with_a_message_naming_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_spec(spec)


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="2g"):
        get_profile("5g")


def test_gilbert_elliott_transitions_give_the_average_loss_in_bursts_of_the_mean_length() -> None:
    p = parse_spec("loss=5%,burst=4")
    p_gb, p_bg = p.gilbert_elliott()
    assert p_gb / (p_gb + p_bg) == pytest.approx(0.05)
    assert 1 / p_bg == pytest.approx(4)


def test_the_queue_limit_is_the_queue_time_at_the_link_rate_but_never_below_two_packets() -> None:
    assert parse_spec("rate=8M,queue=250ms").queue_bytes == 250_000
    assert parse_spec("rate=64k,queue=100ms").queue_bytes == 3000
    assert parse_spec("delay=10ms").queue_bytes is None
