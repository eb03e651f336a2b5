"""Hub-and-spoke: a health worker queues the patient with them for a hub specialist, with consent recorded."""

from __future__ import annotations

import time

from portal import storage as st
from signaling.grants import Role, verify_token
from tests.portal.test_doctor import admit
from tests.portal.test_patient_flow import room_of

NEW_PATIENT = {"mobile": "9000000009", "name": "Gowramma", "age": "61", "sex": "female", "state": "Karnataka",
               "district": "Kolar", "language": "kn"}


async def refer(hw, opd: int, **fields):
    form = {"opd": str(opd), **NEW_PATIENT, "consent": "yes", "consent_how": "verbal", **fields}
    return await hw.post("/portal/hw/refer", form)


async def test_hub_and_spoke_puts_health_worker_patient_and_specialist_in_one_room_with_consent(server, clinic):
    hw = await server.browser()
    resp, _ = await hw.staff_login("hw-1")
    assert resp.headers["Location"] == "/portal/hw"
    before = time.time()
    resp, text = await refer(hw, clinic.hub)
    assert resp.status == 303, text

    specialist = await server.browser()
    await specialist.staff_login("dr-heart")
    resp, board = await specialist.api("GET", "/portal/api/doctor/dashboard")
    waiting = board["queues"][0]["waiting"]
    assert waiting[0]["facility"] == "PHC Hosakote" and waiting[0]["patient"]["name"] == "Gowramma"
    resp, body = await admit(specialist, clinic.hub)
    c = body["consultation"]
    assert c["started_by"] == "health_worker" and c["health_worker_id"] == clinic.hws["hw-1"]
    assert c["consent"]["how"] == "verbal" and c["consent"]["who"] == f"patient:{c['patient_id']}"
    assert before <= c["consent"]["at"] <= time.time()
    assert c["doctor_id"] == clinic.doctors["dr-heart"], "the specialist is the one who prescribes"

    resp, text = await hw.get("/portal/hw")
    assert "/room" in text and "Gowramma" in text
    resp, links = await hw.api("GET", f"/portal/api/hw/tokens/{c['token_id']}/room")
    hw_room, hw_jwt = room_of(links["room_url"])
    pt_room, pt_jwt = room_of(links["patient_room_url"])
    sp_room, sp_jwt = room_of(body["room_url"])
    secret = server.portal.secret
    grants = [verify_token(secret, hw_jwt, hw_room), verify_token(secret, pt_jwt, pt_room),
              verify_token(secret, sp_jwt, sp_room)]
    assert {g.room for g in grants} == {c["room"]}
    assert [g.role for g in grants] == [Role.HEALTH_WORKER, Role.PATIENT, Role.DOCTOR]
    assert grants[0].identity == f"hw:{clinic.hws['hw-1']}"

    stored = await server.portal.db.run(lambda conn: st.get_consultation(conn, c["id"]))
    assert stored.consent.explicit and stored.answered_at is not None


async def test_a_referral_without_consent_is_refused_and_queues_nobody(server, clinic):
    hw = await server.browser()
    await hw.staff_login("hw-1")
    resp, text = await refer(hw, clinic.hub, consent="")
    assert resp.status == 400 and "The patient must agree before the consultation." in text
    resp, text = await refer(hw, clinic.hub, consent_how="implied")
    assert resp.status == 400
    count = await server.portal.db.run(lambda c: c.execute("SELECT COUNT(*) FROM tokens").fetchone()[0])
    patients = await server.portal.db.run(lambda c: c.execute("SELECT COUNT(*) FROM patients").fetchone()[0])
    assert (count, patients) == (0, 0)


async def test_a_caregivers_consent_names_the_caregiver(server, clinic):
    hw = await server.browser()
    await hw.staff_login("hw-1")
    resp, _ = await refer(hw, clinic.hub, consent_who="Suresh (son)", consent_how="thumbprint")
    assert resp.status == 303
    token = await server.portal.db.run(lambda c: st.get_token(c, 1))
    assert token.consent.who == "Suresh (son)" and token.consent.how.value == "thumbprint"


async def test_a_health_worker_cannot_refer_to_a_non_hub_opd_or_reach_another_spokes_room(server, clinic):
    hw1, hw2 = await server.browser(), await server.browser()
    await hw1.staff_login("hw-1")
    await hw2.staff_login("hw-2")
    resp, _ = await refer(hw1, clinic.gen)
    assert resp.status == 400
    resp, _ = await refer(hw1, clinic.hub)
    specialist = await server.browser()
    await specialist.staff_login("dr-heart")
    resp, body = await admit(specialist, clinic.hub)
    resp, _ = await hw2.api("GET", f"/portal/api/hw/tokens/{body['consultation']['token_id']}/room")
    assert resp.status == 403


async def test_an_existing_patient_is_referred_by_patient_id(server, clinic):
    patient = await server.browser()
    await patient.login_with_otp("9000000001")
    pid = await patient.register("Asha")
    hw = await server.browser()
    await hw.staff_login("hw-1")
    resp, _ = await hw.post("/portal/hw/refer", {"opd": str(clinic.hub), "patient_id": pid.lower(),
                                                  "language": "hi", "consent": "yes", "consent_how": "written"})
    assert resp.status == 303
    resp, body = await patient.api("GET", "/portal/api/me")
    assert body["tokens"][0]["number"] == "CAR-001" and body["tokens"][0]["status"] == "waiting"


async def test_a_patient_cannot_book_a_hub_opd_directly(server, clinic):
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    pid = await patient.register()
    resp, text = await patient.post(f"/portal/patients/{pid}/book", {"opd": str(clinic.hub), "language": "hi"})
    assert resp.status == 400 and '<p class="error" id="e-opd">Choose an OPD.</p>' in text
    _, body = await patient.api("GET", "/portal/api/me")
    assert body["tokens"] == []


async def test_a_full_hub_refuses_more_referrals_and_registers_nobody(server, clinic):
    from portal import db

    conn = db.connect(server.data_dir / db.DB_FILE)
    conn.execute("UPDATE opds SET capacity = 1 WHERE id = ?", (clinic.hub,))
    conn.close()
    hw = await server.browser()
    await hw.staff_login("hw-1")
    assert (await refer(hw, clinic.hub))[0].status == 303
    resp, text = await refer(hw, clinic.hub, mobile="9000000010", name="Second")
    assert resp.status == 409 and "This OPD is full today." in text
    conn = db.connect(server.data_dir / db.DB_FILE)
    names = [r[0] for r in conn.execute("SELECT name FROM patients")]
    conn.close()
    assert names == ["Gowramma"]


async def test_the_health_worker_prints_the_prescriptions_of_consultations_they_brought_and_no_others(
    server, clinic
):
    from tests.rx.web_harness import FORM

    hw1, hw2 = await server.browser(), await server.browser()
    await hw1.staff_login("hw-1")
    await hw2.staff_login("hw-2")
    await refer(hw1, clinic.hub)
    specialist = await server.browser()
    await specialist.staff_login("dr-heart")
    _, body = await admit(specialist, clinic.hub)
    # the test clinic's registration numbers must have the council's shape for a signature
    await server.portal.db.run(lambda c: c.execute(
        "UPDATE doctors SET registration_number = 'KMC-51877' WHERE username = 'dr-heart'"))
    cid = body["consultation"]["id"]
    resp, issued = await specialist.api("POST", f"/rx/api/consultations/{cid}/prescriptions", FORM)
    assert resp.status == 201, issued
    rx_id = issued["id"]

    json = {"Accept": "application/json"}
    listed = await (await hw1.client.get("/rx/mine", headers=json)).json()
    assert [item["id"] for item in listed] == [rx_id]
    resp = await hw1.client.get(f"/rx/{rx_id}.pdf")
    assert resp.status == 200 and (await resp.read()).startswith(b"%PDF")
    # another spoke's health worker sees neither the list entry nor the PDF
    assert await (await hw2.client.get("/rx/mine", headers=json)).json() == []
    resp = await hw2.client.get(f"/rx/{rx_id}.pdf", headers=json)
    assert resp.status == 404
