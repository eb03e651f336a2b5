"""Authorization, CSRF, cookies, login timing, rate limits and the audit log."""

from __future__ import annotations

import statistics
import time

from portal import storage as st
from tests.portal.test_doctor import admit, queued_patient


async def test_a_patient_cannot_see_another_patients_token_room_or_record(server, clinic):
    owner, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    await admit(doctor, clinic.gen)
    stranger = await server.browser()
    await stranger.login_with_otp("9000000002")
    resp, body = await stranger.api("GET", f"/portal/api/tokens/{tid}")
    assert resp.status == 403 and body["error"] == "not_yours"
    resp, _ = await stranger.post(f"/portal/tokens/{tid}/call")
    assert resp.status == 403, "no room token for someone else's call"
    resp, _ = await stranger.get(f"/portal/tokens/{tid}")
    assert resp.status == 403
    resp, _ = await stranger.get(f"/portal/patients/{pid}/book")
    assert resp.status == 403
    resp = await stranger.client.get(f"/portal/queue/ws?token={tid}")
    assert resp.status == 403
    resp, body = await stranger.api("GET", "/portal/api/me")
    assert body["patients"] == [] and body["tokens"] == []
    resp, _ = await owner.post(f"/portal/tokens/{tid}/call")
    assert resp.status == 303 and resp.headers["Location"].startswith("/room/")


async def test_a_doctor_sees_only_patients_of_their_own_opds(server, clinic):
    _, pid, _ = await queued_patient(server, "9000000001", clinic.gen, "en")
    eye, gen = await server.browser(), await server.browser()
    await eye.staff_login("dr-eye")
    await gen.staff_login("dr-hindi")
    resp, _ = await eye.get(f"/portal/doctor/patients/{pid}")
    assert resp.status == 403
    resp, text = await gen.get(f"/portal/doctor/patients/{pid}")
    assert resp.status == 200 and pid in text
    resp, body = await eye.api("GET", "/portal/api/doctor/dashboard")
    assert all(not q["waiting"] for q in body["queues"])


async def test_a_doctor_cannot_act_on_another_doctors_consultation(server, clinic):
    await queued_patient(server, "9000000001", clinic.gen, "hi")
    mine, theirs = await server.browser(), await server.browser()
    await mine.staff_login("dr-hindi")
    await theirs.staff_login("dr-tamil")
    resp, body = await admit(mine, clinic.gen)
    cid = body["consultation"]["id"]
    for action in ("hold", "end", "missed"):
        resp, body = await theirs.api("POST", f"/portal/api/doctor/consultations/{cid}/{action}")
        assert resp.status == 403, action
    resp, body = await theirs.api("GET", f"/portal/api/doctor/consultations/{cid}/room")
    assert resp.status == 403


async def test_every_endpoint_needs_the_right_kind_of_login(server, clinic):
    anonymous = await server.browser()
    for path in ("/portal/api/me", "/portal/api/tokens/1", "/portal/api/doctor/dashboard",
                 "/portal/api/hw/tokens/1/room"):
        resp, body = await anonymous.api("GET", path)
        assert resp.status == 401, path
    resp, _ = await anonymous.get("/portal/doctor", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/portal/staff/login"
    patient = await server.browser()
    await patient.login_with_otp("9000000001")
    resp, _ = await patient.api("GET", "/portal/api/doctor/dashboard")
    assert resp.status == 401, "a patient session is not a doctor session"
    hw = await server.browser()
    await hw.staff_login("hw-1")
    resp, _ = await hw.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
    assert resp.status == 401


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(server):
    b = await server.browser()
    await b.get("/portal/")
    resp = await b.client.post("/portal/otp", data={"mobile": "9000000001"}, allow_redirects=False)
    assert resp.status == 403
    resp = await b.client.post("/portal/otp", data={"mobile": "9000000001", "csrf": "0" * 40})
    assert resp.status == 403
    assert list(server.portal.sms.sent) == []


async def test_session_cookies_are_httponly_and_samesite(server):
    b = await server.browser()
    await b.login_with_otp("9000000001")
    resp, _ = await b.get("/portal/")
    jar = {c.key: c for c in b.client.session.cookie_jar}
    assert jar["vaidya_s"]["httponly"] and jar["vaidya_s"]["samesite"] == "Lax"
    assert jar["vaidya_b"]["httponly"]
    resp = await b.client.get("/portal/me")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_logging_out_ends_the_session_on_the_server(server):
    b = await server.browser()
    await b.login_with_otp("9000000001")
    stolen = b.client.session.cookie_jar.filter_cookies(b.client.make_url("/"))["vaidya_s"].value
    await b.post("/portal/logout")
    thief = await server.browser()
    thief.client.session.cookie_jar.update_cookies({"vaidya_s": stolen})
    resp, _ = await thief.api("GET", "/portal/api/me")
    assert resp.status == 401


async def test_a_login_for_an_unknown_user_takes_as_long_as_a_wrong_password(server):
    b = await server.browser()
    await b.get("/portal/staff/login")
    timings: dict[str, list[float]] = {"dr-hindi": [], "nobody-here": []}
    for _ in range(4):  # interleaved, so a slow moment of the machine hits both alike
        for username, samples in timings.items():
            started = time.perf_counter()
            resp, _ = await b.post("/portal/staff/login", {"username": username, "password": "wrong password!"})
            samples.append(time.perf_counter() - started)
            assert resp.status == 403
    median = {u: statistics.median(t) for u, t in timings.items()}
    assert median["nobody-here"] > 0.5 * median["dr-hindi"], median


async def test_logins_are_rate_limited_per_client(server):
    b = await server.browser()
    burst = server.portal.limits.login.burst
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 2 * burst:  # the bucket refills while argon2 works
        statuses.append((await b.staff_login("dr-hindi", "wrong password!"))[0].status)
    assert statuses[:burst] == [403] * burst and statuses[-1] == 429


async def test_viewing_a_patient_record_is_written_to_the_audit_log(server, clinic):
    patient, pid, _ = await queued_patient(server, "9000000001", clinic.gen, "hi")
    await patient.get("/portal/me")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    await doctor.get(f"/portal/doctor/patients/{pid}")
    entries = await server.portal.db.run(lambda c: st.audit_entries(c, f"patient:{pid}"))
    actors = {(e.actor, e.action) for e in entries}
    assert (f"doctor:{clinic.doctors['dr-hindi']}", "view") in actors
    assert ("mobile:9000000001", "view") in actors
