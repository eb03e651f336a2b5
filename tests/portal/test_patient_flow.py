"""The patient's journey against a real server and SQLite file: OTP → registration → token → queue → call."""

from __future__ import annotations

import asyncio

from portal.db import DB_FILE
from signaling.grants import Role, verify_token
from tests.conftest import wait_until


def room_of(link: str) -> tuple[str, str]:
    path, _, fragment = link.partition("#token=")
    return path.removeprefix("/room/"), fragment.split("&")[0]


async def test_register_token_queue_admit_gives_both_sides_tokens_for_the_same_room(server, clinic):
    patient = await server.browser()
    await patient.get("/portal/lang?l=hi&next=/portal/")  # the language picker
    await patient.login_with_otp("9876543210")
    pid = await patient.register("Asha Devi", language="hi")
    token_id = await patient.book(pid, clinic.gen, language="hi")
    sms = server.sms_to("9876543210")[-1]
    assert "GEN-001" in sms and pid in sms and f"/portal/t/{token_id}?k=" in sms

    other = await server.browser()  # someone ahead in the queue
    await other.login_with_otp("9123456780")
    other_token = await other.book(await other.register("Ravi", language="hi"), clinic.gen, language="hi")
    await other.join(other_token)
    await patient.join(token_id)

    ws = await patient.client.ws_connect(f"/portal/queue/ws?token={token_id}")
    first = await ws.receive_json(timeout=5)
    assert first["status"] == "waiting" and first["position"] == 2

    doctor = await server.browser()
    resp, _ = await doctor.staff_login("dr-hindi")
    assert resp.status == 303 and resp.headers["Location"] == "/portal/doctor"
    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    assert resp.status == 200, body
    assert body["consultation"]["patient_id"] != pid  # the one ahead goes first

    update = await ws.receive_json(timeout=5)
    assert update["position"] == 1 and update["text"] == "आप अगले हैं।"  # pushed live, in the patient's language

    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    assert resp.status == 200, body
    consultation = body["consultation"]
    assert consultation["patient_id"] == pid and consultation["started_by"] == "patient"
    assert consultation["consent"]["how"] == "implied"
    update = await ws.receive_json(timeout=5)
    assert update["call_ready"] is True and update["status"] == "called"
    await ws.close()

    resp, _ = await patient.post(f"/portal/tokens/{token_id}/call")
    assert resp.status == 303
    patient_room, patient_jwt = room_of(resp.headers["Location"])
    resp, body = await doctor.api("GET", f"/portal/api/doctor/consultations/{consultation['id']}/room")
    doctor_room, doctor_jwt = room_of(body["room_url"])
    secret = server.portal.secret
    p_grant = verify_token(secret, patient_jwt, patient_room)
    d_grant = verify_token(secret, doctor_jwt, doctor_room)
    assert patient_room == doctor_room == consultation["room"]
    assert (p_grant.identity, p_grant.role) == (f"patient:{pid}", Role.PATIENT)
    assert (d_grant.identity, d_grant.role) == (f"doctor:{clinic.doctors['dr-hindi']}", Role.DOCTOR)

    resp, body = await doctor.api("POST", f"/portal/api/doctor/consultations/{consultation['id']}/end")
    assert body["consultation"]["status"] == "ended" and body["consultation"]["duration_s"] >= 0
    assert (await patient.state(token_id))["status"] == "done"


async def test_the_sms_link_logs_the_patient_in_without_typing_anything(server, clinic):
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    token_id = await patient.book(await patient.register(), clinic.gen)
    link = server.sms_to("9876543210")[-1].split("Open: ")[-1] if "Open: " in server.sms_to("9876543210")[-1] \
        else server.sms_to("9876543210")[-1].split()[-1]
    path = link[link.index("/portal/t/"):]
    fresh = await server.browser()  # a phone that never logged in
    resp, _ = await fresh.get(path, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/portal/tokens/{token_id}"
    assert (await fresh.state(token_id))["token"]["number"] == "GEN-001"
    forged = await server.browser()
    resp, _ = await forged.get(path[: path.index("k=") + 2] + "x" * 43, allow_redirects=False)
    assert resp.status == 403


async def test_otp_is_locked_after_five_wrong_tries(server):
    patient = await server.browser()
    await patient.get("/portal/")
    await patient.post("/portal/otp", {"mobile": "9876543210"})
    code = server.last_code("9876543210")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = []
    for _ in range(5):
        resp, _ = await patient.post("/portal/otp/verify", {"mobile": "9876543210", "code": wrong})
        statuses.append(resp.status)
    assert statuses == [400, 400, 400, 400, 429]
    resp, text = await patient.post("/portal/otp/verify", {"mobile": "9876543210", "code": code})
    assert resp.status == 429, "the right code must not work once locked"
    assert patient.client.session.cookie_jar.filter_cookies(patient.client.make_url("/")).get("vaidya_s") is None


async def test_otp_resends_are_limited_per_number(server):
    patient = await server.browser()
    await patient.get("/portal/")
    statuses = [(await patient.post("/portal/otp", {"mobile": "9876543210"}))[0].status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(server.sms_to("9876543210")) == 3


async def test_a_bad_mobile_number_gets_a_clear_message_and_sends_nothing(server):
    patient = await server.browser()
    await patient.get("/portal/")
    resp, text = await patient.post("/portal/otp", {"mobile": "12345"})
    assert resp.status == 400 and "Enter a 10-digit mobile number." in text
    assert list(server.portal.sms.sent) == []


async def test_registration_names_each_bad_field_and_writes_nothing(server):
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    resp, text = await patient.post("/portal/register", {"name": "", "age": "200", "sex": "x", "state": "KA",
                                                         "district": "", "language": "fr"})
    assert resp.status == 400
    for message in ("Enter the patient&#39;s name.", "Enter the age in years, from 0 to 120.",
                    "Choose female, male or other.", "Enter the district.", "Choose a language."):
        assert message in text
    resp, body = await patient.api("GET", "/portal/api/me")
    assert body["patients"] == []


async def test_family_members_share_one_mobile_number(server, clinic):
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    mother = await patient.register("Asha")
    child = await patient.register("Meena", age="", birth_date="2019-04-02")
    resp, body = await patient.api("GET", "/portal/api/me")
    assert {p["id"] for p in body["patients"]} == {mother, child}
    assert next(p for p in body["patients"] if p["id"] == child)["birth_date"] == "2019-04-02"
    resp, page = await patient.get("/portal/me")
    assert 'href="/rx/mine"' in page  # where the family's prescriptions are downloaded


async def test_a_server_restart_mid_queue_loses_no_token_or_position(aiohttp_server, aiohttp_client, tmp_path,
                                                                      clinic):
    from tests.portal.conftest import Server

    first = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    patients = []
    for i, mobile in enumerate(("9000000001", "9000000002", "9000000003")):
        b = await first.browser()
        await b.login_with_otp(mobile)
        tid = await b.book(await b.register(f"P{i}"), clinic.gen)
        await b.join(tid)
        patients.append((mobile, tid))
    before = [(await (await first.browser()).client.get("/healthz")).status]
    assert before == [200]
    await first.stop()
    assert (tmp_path / DB_FILE).exists()

    second = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    for expected, (mobile, tid) in enumerate(patients, start=1):
        b = await second.browser()
        await b.login_with_otp(mobile)
        state = await b.state(tid)
        assert (state["status"], state["position"]) == ("waiting", expected)
        assert state["token"]["number"] == f"GEN-{expected:03d}"
    doctor = await second.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    assert body["consultation"]["token_id"] == patients[0][1]


async def test_live_updates_reach_several_waiting_patients(server, clinic):
    sockets = []
    for mobile in ("9000000001", "9000000002"):
        b = await server.browser()
        await b.login_with_otp(mobile)
        tid = await b.book(await b.register(), clinic.gen)
        await b.join(tid)
        ws = await b.client.ws_connect(f"/portal/queue/ws?token={tid}")
        sockets.append(ws)
    assert [(await ws.receive_json(timeout=5))["position"] for ws in sockets] == [1, 2]
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    first, second = [await ws.receive_json(timeout=5) for ws in sockets]
    assert first["status"] == "called" and second["position"] == 1
    await asyncio.gather(*(ws.close() for ws in sockets))
    await wait_until(lambda: not server.portal.sockets, "the server to drop closed queue sockets")


async def test_a_closed_opd_refuses_to_queue_and_says_when_it_opens_in_the_patients_language(server):
    import datetime as dt

    from portal import db
    from portal import storage as st

    from portal import clinic_time

    now = clinic_time.now()  # OPD hours are the clinic's, not the server's
    opens = "23:30" if now.hour < 23 else "00:00"
    closes = "23:59" if now.hour < 23 else "00:30"
    conn = db.connect(server.data_dir / DB_FILE)
    night = st.add_opd(conn, code="NGT", name="Night OPD", opens=opens, closes=closes).id
    conn.close()
    patient = await server.browser()
    await patient.get("/portal/lang?l=hi&next=/portal/")
    await patient.login_with_otp("9876543210")
    pid = await patient.register(language="hi")
    _, text = await patient.get(f"/portal/patients/{pid}/book")
    written = {"23:30": "11:30 pm", "00:00": "12:00 am"}[opens]
    assert written in text  # the hours, written the Hindi way
    token_id = await patient.book(pid, night, language="hi")
    resp, text = await patient.post(f"/portal/tokens/{token_id}/join")
    assert resp.status == 400 and f"यह ओपीडी अभी बंद है। यह {written} पर खुलेगी।" in text
    assert (await patient.state(token_id))["status"] == "booked"


async def test_yesterdays_waiting_tokens_leave_the_queue_when_the_server_starts(aiohttp_server, aiohttp_client,
                                                                                  tmp_path, clinic):
    import datetime as dt

    from portal import db

    from tests.portal.conftest import Server

    first = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    patient = await first.browser()
    await patient.login_with_otp("9876543210")
    old = await patient.book(await patient.register("Old"), clinic.gen)
    await patient.join(old)
    await first.stop()
    from portal import clinic_time

    yesterday = (clinic_time.today() - dt.timedelta(days=1)).isoformat()
    conn = db.connect(tmp_path / DB_FILE)
    conn.execute("UPDATE tokens SET day = ? WHERE id = ?", (yesterday, old))
    conn.close()

    second = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    patient = await second.browser()
    await patient.login_with_otp("9876543210")
    assert (await patient.state(old))["status"] == "expired"
    doctor = await second.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    assert resp.status == 409 and body["error"] == "queue_empty"
