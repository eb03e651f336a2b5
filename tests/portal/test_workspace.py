"""The doctor's consult workspace page over HTTP: only the consultation's own doctor gets it, and it shows the
patient's summary (name, age, sex, language, reports, earlier consultations), the doctor's open
consultations with hold/resume, and where the page's script finds the room, the form and the earlier
prescriptions (the latter from rx, which answers only the consultation's doctor)."""

from __future__ import annotations

import re

from tests.portal.test_doctor import admit, queued_patient
from tests.portal.test_uploads import PDF, send

PARACETAMOL = {"generic_name": "Paracetamol", "strength": "500 mg", "form": "tablet", "dose": "1 tablet",
               "frequency": "TDS", "duration_days": 3, "route": "oral", "quantity": 9}


async def _earlier_visit_with_a_prescription(server, clinic):
    """Meena saw Dr Hindi once (a prescription for fever was signed), uploaded a report, and is back."""
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi", "Meena Kumari")
    await patient.get(f"/portal/tokens/{tid}")
    resp, _ = await send(patient, tid, "blood test.pdf", PDF, "application/pdf")
    assert resp.status == 303
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await admit(doctor, clinic.gen)
    first = body["consultation"]["id"]
    resp, issued = await doctor.api("POST", f"/rx/api/consultations/{first}/prescriptions", {
        "age_confirmed": True, "chief_complaints": "Fever for 2 days", "diagnosis": "Acute viral fever",
        "provisional": True, "medicines": [PARACETAMOL]})
    assert resp.status == 201, issued
    await doctor.api("POST", f"/portal/api/doctor/consultations/{first}/end")
    again = await patient.book(pid, clinic.gen, language="hi", follow_up=True)
    await patient.join(again)
    resp, body = await admit(doctor, clinic.gen)
    return doctor, pid, first, body["consultation"]["id"], issued["id"]


async def test_the_consultations_doctor_sees_the_patients_summary_and_the_parts_the_page_loads(server, clinic):
    doctor, pid, first, cid, rx_id = await _earlier_visit_with_a_prescription(server, clinic)
    resp, text = await doctor.get(f"/portal/doctor/consultations/{cid}")
    assert resp.status == 200, text
    for shown in ("Meena Kumari", pid, "34", "Female", "हिन्दी", "blood test.pdf", 'href="/portal/uploads/1"'):
        assert shown in text, shown
    assert text.count('class="earlier"') == 1, "the earlier consultation is listed, this one is not"
    assert f'data-room-api="/portal/api/doctor/consultations/{cid}/room"' in text
    assert f'data-form="/rx/consultations/{cid}/new?fragment=1"' in text
    assert f'data-history="/rx/api/consultations/{cid}/prescriptions"' in text
    assert 'id="ws-chat"' in text and 'id="ws-remote"' in text
    assert "<script>" not in text and " onclick=" not in text, "scripts only from files (CSP)"

    resp, history = await doctor.api("GET", f"/rx/api/consultations/{cid}/prescriptions")
    assert resp.status == 200, history
    [earlier] = history["prescriptions"]
    assert earlier["id"] == rx_id and earlier["diagnosis"] == "Acute viral fever"
    assert earlier["chief_complaints"] == "Fever for 2 days" and earlier["status"] == "current"
    assert earlier["medicines"] == ["Paracetamol 500 mg tablet"] and earlier["pdf"] == f"/rx/{rx_id}.pdf"


async def test_the_workspace_lists_every_open_consultation_with_hold_or_resume(server, clinic):
    await queued_patient(server, "9000000001", clinic.gen, "hi", "Asha")
    await queued_patient(server, "9000000002", clinic.gen, "hi", "Binod")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    cids = [(await admit(doctor, clinic.gen))[1]["consultation"]["id"] for _ in range(2)]
    await doctor.api("POST", f"/portal/api/doctor/consultations/{cids[1]}/hold")
    resp, text = await doctor.get(f"/portal/doctor/consultations/{cids[0]}")
    assert f'<a href="/portal/doctor/consultations/{cids[0]}" aria-current="page"' in text
    assert f'<a href="/portal/doctor/consultations/{cids[1]}"' in text
    shown = set(re.findall(r'<form method="post" action="/portal/doctor/consultations/(\d+)/(hold|resume)"[^>]*?'
                           r'data-api="[^"]+"(?! hidden)>', text))
    assert shown == {(str(cids[0]), "hold"), (str(cids[1]), "resume")}, "the active one can be held, the held resumed"
    resp, text = await doctor.get("/portal/doctor")
    for cid in cids:  # the dashboard leads to each workspace
        assert f'href="/portal/doctor/consultations/{cid}"' in text


async def test_nobody_but_the_consultations_doctor_gets_its_workspace_or_its_prescriptions(server, clinic):
    patient, _, _ = await queued_patient(server, "9000000001", clinic.gen, "hi", "Asha")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    cid = (await admit(doctor, clinic.gen))[1]["consultation"]["id"]
    colleague = await server.browser()  # same OPD, not their consultation
    await colleague.staff_login("dr-tamil")
    resp, _ = await colleague.get(f"/portal/doctor/consultations/{cid}")
    assert resp.status == 404
    resp, _ = await colleague.api("GET", f"/rx/api/consultations/{cid}/prescriptions")
    assert resp.status == 404
    resp, _ = await doctor.get(f"/portal/doctor/consultations/{cid + 1000}")
    assert resp.status == 404
    resp, text = await patient.get(f"/portal/doctor/consultations/{cid}", allow_redirects=False)
    assert resp.status == 303 and "Asha" not in text, "a patient's session is sent to the staff login"
    stranger = await server.browser()
    resp, _ = await stranger.get(f"/portal/doctor/consultations/{cid}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/portal/staff/login")


async def test_an_unanswered_call_reads_called_not_in_the_room_until_the_patient_answers(server, clinic):
    patient, _, tid = await queued_patient(server, "9000000001", clinic.gen, "hi", "Asha")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    cid = (await admit(doctor, clinic.gen))[1]["consultation"]["id"]
    for page in ("/portal/doctor", f"/portal/doctor/consultations/{cid}"):
        resp, text = await doctor.get(page)
        assert "Called" in text and ">In the room<" not in text, page
    resp, _ = await patient.api("POST", f"/portal/api/tokens/{tid}/call")
    assert resp.status == 200
    for page in ("/portal/doctor", f"/portal/doctor/consultations/{cid}"):
        resp, text = await doctor.get(page)
        assert "In the room" in text, page
