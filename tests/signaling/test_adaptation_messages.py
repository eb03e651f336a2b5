"""pin and save-data: who may send them, what bad values get, and that a pin reaches the media within 2 s."""

import asyncio
import time

import pytest

from signaling import keys
from signaling.client import SignalingError
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


@pytest.fixture
async def consult(sfu_server, clients):
    """A doctor and a patient, each publishing and receiving the other."""
    doctor_client, patient_client = await clients(sfu_server.ws_url), await clients(sfu_server.ws_url)
    doctor = await doctor_client.join("consult", token("consult", "doctor-1", "doctor"))
    patient = await patient_client.join("consult", token("consult", "patient-1"))
    await doctor.publish(NumberedVideoTrack(fps=30), ToneTrack())
    await patient.publish(NumberedVideoTrack(fps=30, first_number=30000), ToneTrack())
    await wait_until(lambda: patient.track("video"), "the doctor's video at the patient")
    await wait_until(lambda: doctor.track("video"), "the patient's video at the doctor")
    return doctor, patient


async def _code(request) -> str:
    with pytest.raises(SignalingError) as raised:
        await request
    return raised.value.code


async def test_only_a_doctor_may_pin_and_only_a_participant_of_the_room(consult):
    doctor, patient = consult
    assert await _code(patient.pin(doctor.participant_id, "A")) == "forbidden"
    assert await _code(doctor.pin("p-nobody", "A")) == "not_found"
    assert await _code(doctor.client.request(
        {"type": "pin", "room": "consult", "participant_id": patient.participant_id, "tier": "HD"})) == "bad_message"
    assert await _code(doctor.client.request(
        {"type": "pin", "room": "consult", "participant_id": 7, "tier": "A"})) == "bad_message"
    assert await _code(patient.client.request(
        {"type": "save-data", "room": "consult", "enabled": "yes"})) == "bad_message"
    assert (await patient.save_data(False))["type"] == "save-data"


async def test_a_doctors_audio_only_pin_pauses_the_patients_video_within_two_seconds_and_unpinning_restores_it(
    sfu_server, consult
):
    doctor, patient = consult
    frames = FrameCollector(patient.track("video"))
    await wait_until(lambda: len(frames.readable()) > 5, "the doctor's frames at the patient")
    room = sfu_server.app[keys.REGISTRY].get("consult")
    producer = next(p for p in room.producers() if p.owner_id == doctor.participant_id and p.kind == "video")
    consumer = next(c for c in room.router.consumers_of(producer.id) if c.subscriber_id == patient.participant_id)

    pinned_at = time.monotonic()
    await doctor.pin(patient.participant_id, "A")
    quality = await wait_until(lambda: patient.client.events("consult", "quality"), "a quality event", timeout=2.0)
    assert time.monotonic() - pinned_at <= 2.0
    assert (quality[-1]["producer_id"], quality[-1]["tier"], quality[-1]["reason"]) == (producer.id, "A", "pinned")
    assert consumer.paused
    sent = consumer.stats.packets
    await asyncio.sleep(1.0)
    assert consumer.stats.packets == sent  # no video goes to the patient
    audio_producer = next(p for p in room.producers() if p.owner_id == doctor.participant_id and p.kind == "audio")
    audio_consumer = next(c for c in room.router.consumers_of(audio_producer.id)
                          if c.subscriber_id == patient.participant_id)
    heard = audio_consumer.stats.packets
    await asyncio.sleep(0.5)
    assert audio_consumer.stats.packets > heard  # the voice keeps flowing

    shown = len(frames.readable())
    await doctor.pin(patient.participant_id, None)
    await wait_until(lambda: patient.client.events("consult", "quality")[-1]["tier"] == "T0", "back to the original",
                     timeout=2.0)
    assert patient.client.events("consult", "quality")[-1]["reason"] is None
    await wait_until(lambda: len(frames.readable()) > shown + 10, "the doctor's video again")
    await frames.stop()


async def test_without_adaptation_pin_and_save_data_say_so(tmp_path, clients):
    from aiohttp.test_utils import TestServer

    from signaling.app import create_app
    from signaling.config import load_config
    from tests.helpers.server import SECRET

    config = load_config(None, {"data_dir": tmp_path / "data", "secret": SECRET, "adaptive": False})
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        url = f"ws://127.0.0.1:{server.port}/ws"
        doctor = await (await clients(url)).join("plain", token("plain", "doctor-1", "doctor"))
        patient = await (await clients(url)).join("plain", token("plain", "patient-1"))
        assert await _code(doctor.pin(patient.participant_id, "A")) == "bad_state"
        assert await _code(patient.save_data(True)) == "bad_state"
        assert server.app[keys.REGISTRY].get("plain").renditions is None
    finally:
        await server.close()


async def test_save_data_moves_what_the_patient_receives_to_the_low_tier_within_two_seconds_and_back(
    sfu_server, consult
):
    doctor, patient = consult
    room = sfu_server.app[keys.REGISTRY].get("consult")
    producer = next(p for p in room.producers() if p.owner_id == doctor.participant_id and p.kind == "video")
    consumer = next(c for c in room.router.consumers_showing(producer.id) if c.subscriber_id == patient.participant_id)

    asked_at = time.monotonic()
    await patient.save_data(True)
    quality = await wait_until(lambda: [e for e in patient.client.events("consult", "quality") if e["kind"] == "video"],
                               "a quality event", timeout=2.0)
    assert time.monotonic() - asked_at <= 2.0
    assert (quality[-1]["tier"], quality[-1]["reason"]) == ("T3", "save_data")
    assert consumer.source.id == f"{producer.id}/T3"
    sent = consumer.stats.packets
    await wait_until(lambda: consumer.stats.packets > sent + 10, "T3 packets to the patient")

    await patient.save_data(False)
    await wait_until(lambda: patient.client.events("consult", "quality")[-1]["tier"] == "T0", "back to the original",
                     timeout=2.0)
    assert consumer.source is producer


async def test_a_specialist_who_joins_while_the_patient_is_on_a_tier_reaches_the_patient(sfu_server, clients, consult):
    """A new publisher renegotiates every subscriber's connection. The offer names each track's producer:
    for a consumer on a transcoded tier that was read from its TierSource, which has no owner, and the
    patient's new offer was never sent (seen in CI: a third browser never saw the other two)."""
    doctor, patient = consult
    await patient.save_data(True)
    await wait_until(lambda: [e for e in patient.client.events("consult", "quality") if e.get("tier") == "T3"],
                     "the patient's video on T3", timeout=2.0)
    specialist = await (await clients(sfu_server.ws_url)).join("consult", token("consult", "hub-1", "doctor"))
    await specialist.publish(NumberedVideoTrack(fps=30, first_number=60000), ToneTrack())
    await wait_until(lambda: patient.track("video", specialist.participant_id), "the specialist's video at the patient")
    offers = [e for e in patient.client.events("consult", "offer") if e.get("pc") == "subscribe"]
    described = offers[-1]["tracks"].values()
    assert {(t["participant_id"], t["kind"]) for t in described} >= {
        (doctor.participant_id, "video"), (doctor.participant_id, "audio"),
        (specialist.participant_id, "video"), (specialist.participant_id, "audio")}
