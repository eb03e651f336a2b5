"""The patient's network drops for 5 s in the middle of a consultation, at the packet level: the patient's
Chromium runs in its own network namespace whose only way to the server is one virtual cable, and the test
pulls that cable (tests/helpers/isolated_network.py). Media and signaling both stop — the test checks that
they did — and the call comes back by itself, both ways, once the cable is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.helpers import isolated_network
from tests.helpers.browser import (
    CHROMIUM,
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    chromium,
    frames_decoded_over,
    inbound_video,
    open_page,
    running_app,
    token_link,
)
from tests.helpers.isolated_network import IsolatedNetwork

pytestmark = [pytest.mark.timeout(150), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

ROOM = "opd-drop"


async def _resumes(page, who: str, since: float) -> float:
    """Seconds from `since` until the page decodes new frames again."""
    start = (await inbound_video(page) or {}).get("framesDecoded", 0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (await inbound_video(page) or {}).get("framesDecoded", 0) > start + 5:
            return time.monotonic() - since
        await asyncio.sleep(0.1)
    raise AssertionError(f"{who}'s video did not come back within 30 s of the network")


async def test_a_5_s_network_drop_on_the_patient_recovers_by_itself(tmp_path: Path) -> None:
    why_not = isolated_network.available()
    if why_not is not None:
        pytest.skip(why_not)
    errors: list[str] = []
    network = IsolatedNetwork([], link_to_host=True)
    try:
        # the SFU offers the host's end of the cable too (the default offers 127.0.0.1 only)
        media = f"127.0.0.1,{network.host_address}"
        async with running_app(tmp_path / "data", listen="0.0.0.0", media_addresses=media) as (base_url, secret, _):
            patient_base = f"http://{network.host_address}:{base_url.rsplit(':', 1)[1]}"
            # the patient's page is on a plain-HTTP address that is not localhost: treat it as the secure
            # context a real deployment's HTTPS gives, so the page may use the camera
            patient_args = (f"--unsafely-treat-insecure-origin-as-secure={patient_base}",)
            async with chromium() as browser, chromium(
                executable=network.launcher(CHROMIUM, tmp_path), extra_args=patient_args
            ) as patient_browser:
                doctor = await open_page(browser, errors, "doctor", token_link(base_url, secret, ROOM, "dr-asha", "doctor"))
                patient = await open_page(patient_browser, errors, "patient",
                                          token_link(patient_base, secret, ROOM, "pt-gita", "patient"))
                await asyncio.gather(assert_decodes_growing_video(doctor, "the doctor"),
                                     assert_decodes_growing_video(patient, "the patient"))

                network.unplug()
                cut = time.monotonic()
                await asyncio.sleep(1.0)  # frames already in the jitter buffers play out
                during = await asyncio.gather(frames_decoded_over(patient, 3.0), frames_decoded_over(doctor, 3.0))
                await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - cut)))
                network.plug()
                back = time.monotonic()
                assert during[0] <= 3 and during[1] <= 3, f"the drop did not stop the media: {during}"
                patient_after, doctor_after = await asyncio.gather(
                    _resumes(patient, "the patient", back), _resumes(doctor, "the doctor", back))
                await asyncio.gather(assert_decodes_growing_video(doctor, "the doctor, after the drop"),
                                     assert_decodes_growing_video(patient, "the patient, after the drop"))
                print(f"video back {patient_after:.1f} s (patient) and {doctor_after:.1f} s (doctor) after the network")
    finally:
        network.close()
    assert not [e for e in errors if "WebSocket" not in e], errors
