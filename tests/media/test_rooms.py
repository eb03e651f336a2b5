"""Rooms are independent; a doctor can hold several consultations at once."""

import asyncio

from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


async def test_a_doctor_in_two_rooms_receives_both_patients_and_nothing_crosses(sfu_server, clients):
    patients = {}
    for room in ("room-a", "room-b"):
        client = await clients(sfu_server.ws_url)
        peer = await client.join(room, token(room, f"patient-{room}"))
        await peer.publish(NumberedVideoTrack(), ToneTrack())
        patients[room] = (client, peer)

    doctor = await clients(sfu_server.ws_url)  # one socket, two consultations
    in_a = await doctor.join("room-a", token("room-a", "dr-1", "doctor"))
    in_b = await doctor.join("room-b", token("room-b", "dr-1", "doctor"))
    await in_a.publish(NumberedVideoTrack(), ToneTrack())
    await in_b.publish(NumberedVideoTrack(), ToneTrack())

    pa, pb = patients["room-a"][1], patients["room-b"][1]
    for peer, who in ((in_a, pa), (in_b, pb)):
        track = await wait_until(lambda peer=peer, who=who: peer.track("video", who.participant_id), "the patient's video")
        frames = FrameCollector(track)
        await wait_until(lambda frames=frames: len(frames.readable()) > 10, "the patient's frames at the doctor")
        await frames.stop()
    for peer in (pa, pb):
        await wait_until(lambda peer=peer: len(peer.tracks) == 2, "the doctor's tracks at each patient")

    # Nothing crosses: each side sees only its own room's participants and producers.
    assert {i["participant_id"] for i in in_a.track_info.values()} == {pa.participant_id}
    assert {i["participant_id"] for i in in_b.track_info.values()} == {pb.participant_id}
    assert {i["participant_id"] for i in pa.track_info.values()} == {in_a.participant_id}
    assert {i["participant_id"] for i in pb.track_info.values()} == {in_b.participant_id}
    assert all(e["room"] == "room-a" for e in in_a.events)


async def test_pausing_in_one_room_leaves_the_other_room_flowing(sfu_server, clients):
    doctor = await clients(sfu_server.ws_url)
    rooms = {}
    for room in ("hold-a", "hold-b"):
        peer = await doctor.join(room, token(room, "dr-2", "doctor"))
        await peer.publish(NumberedVideoTrack(), ToneTrack())
        patient = await clients(sfu_server.ws_url)
        rooms[room] = await patient.join(room, token(room, f"pt-{room}"))
    collectors = {}
    for room, peer in rooms.items():
        track = await wait_until(lambda peer=peer: peer.track("video"), f"doctor's video in {room}")
        collectors[room] = FrameCollector(track)
        await wait_until(lambda c=collectors[room]: len(c.readable()) > 5, f"frames in {room}")

    await doctor.rooms["hold-a"].pause("video")
    await wait_until(lambda: rooms["hold-a"].client.events("hold-a", "producer-paused"), "producer-paused event")
    await asyncio.sleep(0.3)
    held, other = len(collectors["hold-a"].numbers), len(collectors["hold-b"].numbers)
    await asyncio.sleep(1.5)
    assert len(collectors["hold-a"].numbers) - held <= 2  # the held room goes quiet
    assert len(collectors["hold-b"].numbers) - other >= 30  # the other room carries on

    await doctor.rooms["hold-a"].resume("video")
    resumed = len(collectors["hold-a"].numbers)
    await wait_until(lambda: len(collectors["hold-a"].numbers) > resumed + 10, "video again after resume")
    for c in collectors.values():
        await c.stop()


async def test_the_third_person_into_a_room_receives_both_others_video_and_audio(sfu_server, clients):
    """Hub and spoke: a specialist and a health worker publish, then the patient joins, whose first
    subscribe offer carries two tracks of each kind (the browser version of this test is in
    tests/signaling/test_browser_room.py)."""
    publishers = []
    for i, (identity, role) in enumerate((("dr-heart", "doctor"), ("hw-1", "health_worker"))):
        client = await clients(sfu_server.ws_url)
        peer = await client.join("hub", token("hub", identity, role))
        video = NumberedVideoTrack(fps=15, first_number=1000 * (i + 1))
        await peer.publish(video, ToneTrack())
        publishers.append(peer)
    await wait_until(lambda: len([p for p in publishers if p.track("video")]) == 2, "the two to see each other")

    patient = await (await clients(sfu_server.ws_url)).join("hub", token("hub", "pt-gowramma"))
    for peer in publishers:
        await wait_until(lambda peer=peer: patient.track("video", peer.participant_id), "each video at the patient")
        await wait_until(lambda peer=peer: patient.track("audio", peer.participant_id), "each audio at the patient")
    collectors = [FrameCollector(patient.track("video", p.participant_id)) for p in publishers]
    await wait_until(lambda: all(len(c.readable()) >= 5 for c in collectors), "frames of both at the patient",
                     timeout=15)
    for n, frames in enumerate(collectors, start=1):
        assert all(1000 * n <= x < 1000 * (n + 1) for x in frames.readable()), "each track carries its own person"
        await frames.stop()


async def test_consuming_a_producer_twice_gives_the_one_consumer_it_has() -> None:
    """A subscriber joining while a publisher's offer is applied sees the new producer twice (in the room
    and in the publish reply): it must get one stream, not two m-sections of the same track."""
    from media.sfu.router import Router
    from media.sfu.transport import SubscribeTransport
    from tests.helpers.rtp_publisher import VP8_CODEC, RtpPublisher

    router = Router("race")
    producer = router.create_producer("pub", "video", VP8_CODEC, RtpPublisher(VP8_CODEC, 64, 64))
    changes: list[int] = []
    transport = SubscribeTransport(router, "sub", on_failed=lambda: None, on_change=lambda: changes.append(1))
    try:
        first = transport.consume(producer)
        assert transport.consume(producer) is first
        assert len(transport.pc.getTransceivers()) == 1 and router.consumers_of(producer.id) == [first]
        first.close()
        again = transport.consume(producer)  # a consumer that ended is replaced
        assert again is not first and router.consumers_of(producer.id) == [again]
    finally:
        await transport.close()
