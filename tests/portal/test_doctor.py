"""The doctor's side: routing by language and follow-up, several rooms at once, missed calls."""

from __future__ import annotations

from signaling.grants import verify_token
from tests.portal.test_patient_flow import room_of


async def queued_patient(server, mobile: str, opd: int, language: str, name: str = "P", follow_up=False):
    b = await server.browser()
    await b.login_with_otp(mobile)
    pid = await b.register(name, language=language)
    tid = await b.book(pid, opd, language=language, follow_up=follow_up)
    await b.join(tid)
    return b, pid, tid


async def admit(doctor, opd: int, token: int | None = None, mode: str = "video"):
    body = {"opd": opd, "mode": mode}
    if token is not None:
        body["token"] = token
    return await doctor.api("POST", "/portal/api/doctor/admit", body)


async def test_a_doctor_gets_the_first_patient_who_speaks_their_language(server, clinic):
    await queued_patient(server, "9000000001", clinic.gen, "ta", "Tamil speaker")
    _, hindi_pid, _ = await queued_patient(server, "9000000002", clinic.gen, "hi", "Hindi speaker")
    hindi_doctor, tamil_doctor = await server.browser(), await server.browser()
    await hindi_doctor.staff_login("dr-hindi")
    await tamil_doctor.staff_login("dr-tamil")
    resp, body = await admit(hindi_doctor, clinic.gen)
    assert body["consultation"]["patient_id"] == hindi_pid, "the Hindi doctor skips the Tamil speaker"
    resp, body = await admit(hindi_doctor, clinic.gen)
    assert resp.status == 409 and body["error"] == "queue_empty"
    resp, body = await admit(tamil_doctor, clinic.gen)
    assert resp.status == 200


async def test_a_patient_can_ask_for_the_doctor_they_saw_last_time(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "en")
    tamil_doctor, hindi_doctor = await server.browser(), await server.browser()
    await tamil_doctor.staff_login("dr-tamil")
    await hindi_doctor.staff_login("dr-hindi")
    resp, body = await admit(tamil_doctor, clinic.gen)
    await tamil_doctor.api("POST", f"/portal/api/doctor/consultations/{body['consultation']['id']}/end")

    token2 = await patient.book(pid, clinic.gen, language="en", follow_up=True)
    assert token2 != tid
    assert (await patient.state(token2))["token"]["visit"] == "follow_up"
    await patient.join(token2)
    resp, body = await admit(hindi_doctor, clinic.gen)
    assert resp.status == 409, "an English speaker who asked for Dr Tamil is not taken by Dr Hindi"
    resp, body = await admit(tamil_doctor, clinic.gen)
    assert body["consultation"]["patient_id"] == pid and body["consultation"]["visit"] == "follow_up"


async def test_a_doctor_with_three_rooms_open_holds_and_resumes_each_independently(server, clinic):
    for i in range(4):
        await queued_patient(server, f"900000000{i}", clinic.gen, "hi", f"P{i}")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    rooms = []
    for mode in ("video", "audio", "text"):
        resp, body = await admit(doctor, clinic.gen, mode=mode)
        assert resp.status == 200, body
        rooms.append(body)
    assert len({r["consultation"]["room"] for r in rooms}) == 3
    for r in rooms:
        room, jwt = room_of(r["room_url"])
        assert verify_token(server.portal.secret, jwt, room).room == r["consultation"]["room"]
    held = rooms[1]["consultation"]["id"]
    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{held}/hold")
    assert body["consultation"]["status"] == "held"
    resp, board = await doctor.api("GET", "/portal/api/doctor/dashboard")
    assert [r["consultation"]["status"] for r in board["rooms"]] == ["active", "held", "active"]
    assert [r["consultation"]["mode"] for r in board["rooms"]] == ["video", "audio", "text"]
    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{held}/resume")
    assert body["consultation"]["status"] == "active"
    resp, text = await doctor.get("/portal/doctor")
    assert text.count('target="room-') == 3
    for r in rooms:  # each open consultation leads to its prescription form
        assert f'href="/rx/consultations/{r["consultation"]["id"]}/new"' in text
    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{rooms[0]['consultation']['id']}/end")
    assert body["consultation"]["status"] == "ended"
    resp, board = await doctor.api("GET", "/portal/api/doctor/dashboard")
    assert len(board["rooms"]) == 2 and len(board["queues"][0]["waiting"]) == 1


async def test_a_missed_call_sends_the_patient_back_once_then_expires_the_token(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await queued_patient(server, "9000000002", clinic.gen, "hi")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await admit(doctor, clinic.gen, token=tid)
    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{body['consultation']['id']}/missed")
    assert body["token"]["status"] == "waiting" and body["token"]["missed_count"] == 1
    state = await patient.state(tid)
    assert state["position"] == 2, "back to the end of the queue"
    assert state["missed_text"]
    resp, _ = await patient.post(f"/portal/tokens/{tid}/call")
    assert resp.status == 409, "no room token without a call"

    resp, body = await admit(doctor, clinic.gen, token=tid)
    cid = body["consultation"]["id"]
    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{cid}/missed")
    assert body["token"]["status"] == "expired"
    assert (await patient.state(tid))["status"] == "expired"
    resp, _ = await patient.post(f"/portal/tokens/{tid}/call")
    assert resp.status == 409


async def test_an_unanswered_call_is_marked_missed_by_the_sweep(server, clinic):
    import time

    from portal.consults import CALL_TIMEOUT_S

    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    await admit(doctor, clinic.gen)
    assert await server.portal.consults.sweep_unanswered() == 0
    assert await server.portal.consults.sweep_unanswered(now=time.time() + CALL_TIMEOUT_S + 1) == 1
    state = await patient.state(tid)
    assert (state["status"], state["token"]["missed_count"]) == ("waiting", 1)


async def test_a_doctor_cannot_admit_from_an_opd_they_do_not_serve(server, clinic):
    await queued_patient(server, "9000000001", clinic.gen, "en")
    eye_doctor = await server.browser()
    await eye_doctor.staff_login("dr-eye")
    resp, body = await admit(eye_doctor, clinic.gen)
    assert resp.status == 403 and body["error"] == "not_your_opd"
