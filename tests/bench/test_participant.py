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


async def test_a_participant_the_server_removes_from_its_room_reports_it_as_its_error() -> None:
    import asyncio
    import secrets

    from bench.consults import loopback_candidates
    from bench.forward import ServerUnderTest
    from bench.participant import Participant
    from signaling.client import SignalingClient
    from signaling.grants import mint_token

    secret = secrets.token_urlsafe(32)
    server = ServerUnderTest("vaidya", secret)
    plans = {"patient": MediaPlan.for_link(get_profile("2g"))}
    with loopback_candidates():
        await server.ready()
        token = mint_token(secret, room="r-removed", identity="patient-0", role="patient", ttl_s=60)
        participant = Participant(server.ws_url, "r-removed", token, "patient", plans)
        other = SignalingClient(server.ws_url)
        try:
            await participant.start()
            assert participant.summary()["removed"] is None and participant.error is None
            await other.connect()
            await other.join("r-removed", token)  # the same identity again: the server replaces the first
            for _ in range(50):
                if participant.removed:
                    break
                await asyncio.sleep(0.1)
        finally:
            await other.close()
            await participant.close()
            server.stop()
    summary = participant.summary()
    assert summary["removed"]["reason"] == "replaced"
    assert summary["error"] == "removed from the room by the server (replaced)"
