"""Chromium, the browser clinicians use, plays the shared low-rate audio tier cleanly.

An aiortc publisher sends a tone; a real Chromium doctor page subscribes through the real server; its
audio consumer is moved onto the tier (60 ms mono Opus with in-band FEC) and Chromium's own getStats must
show the tier's packet rate, continuous playout and next to no concealment.
"""

from __future__ import annotations

import asyncio

import pytest

from media.adaptive.audio_transcoder import AudioTranscoder
from media.adaptive.ladder import AudioTier
from signaling import keys
from tests.conftest import wait_until
from tests.helpers.browser import HAVE_CHROMIUM, NO_CHROMIUM, chromium, open_page, token_link
from tests.helpers.media import ToneTrack
from tests.helpers.server import SECRET, token

pytestmark = [pytest.mark.timeout(90), pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

INBOUND_AUDIO_JS = """
async () => {
  const pc = window.vaidya && window.vaidya.subscribePc;
  if (!pc) return null;
  const audio = { packets: 0, lost: 0, samples: 0, concealed: 0, energy: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      audio.packets += s.packetsReceived || 0;
      audio.lost += s.packetsLost || 0;
      audio.samples += s.totalSamplesReceived || 0;
      audio.concealed += s.concealedSamples || 0;
      audio.energy += s.totalAudioEnergy || 0;
    }
  });
  return audio;
}
"""


def delta(after: dict, before: dict) -> dict:
    return {key: after[key] - before[key] for key in after}


async def test_chromium_plays_the_low_rate_tier_at_its_packet_rate_without_concealment(sfu_server, clients):
    room_name = "tier-chromium"
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join(room_name, token(room_name, "patient-1"))
    await pub.publish(ToneTrack())
    base_url = f"http://127.0.0.1:{sfu_server.port}"
    errors: list[str] = []
    async with chromium() as browser:
        page = await open_page(browser, errors, "doctor", token_link(base_url, SECRET, room_name, "dr-a", "doctor"))

        async def audio() -> dict | None:
            return await page.evaluate(INBOUND_AUDIO_JS)

        async def playing() -> bool:
            stats = await audio()
            return bool(stats and stats["samples"] > 48000)

        await wait_until(playing, "the doctor's page playing the patient's audio", timeout=30, interval=0.25)
        room = sfu_server.app[keys.REGISTRY].get(room_name)
        producer = next(p for p in room.producers() if p.kind == "audio" and p.owner_id == pub.participant_id)
        [consumer] = room.router.consumers_of(producer.id)
        transcoder = AudioTranscoder(room.router, producer, AudioTier())
        consumer.switch_source(transcoder.acquire())

        await asyncio.sleep(1.5)  # past the switch
        before = await audio()
        await asyncio.sleep(6.0)
        during = delta(await audio(), before)

        assert 14 <= during["packets"] / 6 <= 19, during  # 60 ms packets: 16.7 a second (20 ms: 50)
        assert during["lost"] == 0, during
        assert 0.9 * 6 * 48000 <= during["samples"] <= 1.1 * 6 * 48000, during  # it played throughout
        assert during["concealed"] / during["samples"] < 0.02, during
        assert during["energy"] > 0, during  # and it was not silence
        assert transcoder.stats.encodes >= 100
        assert not errors, errors
        transcoder.close()
