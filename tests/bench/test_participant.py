"""What a synthetic phone sends on each link: the media plan."""

from __future__ import annotations

import pytest

from bench.participant import AUDIO_WIRE_OVERHEAD_BPS, MediaPlan
from bench.profiles import get_profile


@pytest.mark.parametrize(
    ("profile", "size", "video_bps", "audio_bps"),
    [
        ("2g", (160, 90), 53_000, 16_000),
        ("edge-bad", (160, 90), 30_000, 16_000),
        ("rate=500k", (320, 180), 298_000, 16_000),
        ("3g", (640, 360), 500_000, 32_000),
        ("lan", (640, 360), 500_000, 32_000),
    ],
)
def test_a_plan_fits_the_link_after_the_audios_wire_overhead(
    profile: str, size: tuple[int, int], video_bps: int, audio_bps: int
) -> None:
    plan = MediaPlan.for_link(get_profile(profile))
    assert ((plan.width, plan.height), plan.video_bps, plan.audio_bps) == (size, video_bps, audio_bps)
    assert plan.counter_modulus == 300  # 20 s loop at 15 fps


def test_on_2g_video_audio_and_their_overhead_leave_room_for_retransmissions() -> None:
    plan = MediaPlan.for_link(get_profile("2g"))
    on_wire = plan.video_bps + plan.audio_bps + AUDIO_WIRE_OVERHEAD_BPS
    assert on_wire <= 0.7 * 150_000
