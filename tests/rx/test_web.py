"""Rx over HTTP on the real app (signaling's create_app, the portal's sessions and records, a real SQLite
file): issuing, access rules, downloads, and the verification page a pharmacist uses."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from yarl import URL

from portal.context import PORTAL
from rx.verify import verify_pdf_offline
from rx.web import RX_SERVICE

from .web_harness import FORM, MEDICINE

async def _issue(visitor, clinic, **changes):
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp, body = await doctor.post_json(f"/rx/api/consultations/{clinic.video_consult}/prescriptions",
                                        {**FORM, **changes})
    assert resp.status == 201, body
    return doctor, body


async def test_a_doctor_issues_and_the_patient_gets_an_sms_lists_and_downloads_it(site):
    clinic, app, visitor = site
    doctor, issued = await _issue(visitor, clinic)
    sms = [m for m in app[PORTAL].sms.sent if m.to == "9800000001"]
    assert sms and issued["id"] in sms[-1].body and "दवा पर्ची" in sms[-1].body
    patient = await visitor("patient", "9800000001")
    resp = await patient.get("/rx/mine", headers={"Accept": "application/json"})
    listed = await resp.json()
    assert [(i["id"], i["status"]) for i in listed] == [(issued["id"], "current")]
    resp = await patient.get(f"/rx/{issued['id']}.pdf")
    assert resp.status == 200 and resp.content_type == "application/pdf"
    verdict = verify_pdf_offline(await resp.read(), app[RX_SERVICE].registry())
    assert verdict.ok and verdict.prescription.patient.name == "सीता देवी"
    assert verdict.prescription.doctor.registration_number == "KMC-48213"
    resp = await patient.get(f"/rx/{issued['id']}/fhir")
    Bundle.model_validate(await resp.json())
    resp = await patient.get(f"/rx/{issued['id']}/fhir?kind=op-consult")
    assert (await resp.json())["entry"][0]["resource"]["type"]["coding"][0]["code"] == "371530004"
    resp = await doctor.get("/rx/mine", headers={"Accept": "application/json"})
    assert [i["id"] for i in await resp.json()] == [issued["id"]]


async def test_patient_b_cannot_fetch_patient_as_prescription_pdf_or_bundle(site):
    clinic, app, visitor = site
    _, issued = await _issue(visitor, clinic)
    other_patient = await visitor("patient", "9800000002")
    other_doctor = await visitor("doctor", str(clinic.doctor_b))
    for who in (other_patient, other_doctor):
        for path in (f"/rx/{issued['id']}.pdf", f"/rx/{issued['id']}/fhir", f"/rx/{issued['id']}/fhir?v=1"):
            resp = await who.get(path, headers={"Accept": "application/json"})
            assert resp.status == 404, path
            assert "सीता" not in await resp.text()
        resp = await who.get("/rx/mine", headers={"Accept": "application/json"})
        assert await resp.json() == []
    stranger = await visitor()
    resp = await stranger.get(f"/rx/{issued['id']}.pdf")
    assert resp.status == 303 and resp.headers["Location"] == "/portal/"


async def test_a_list_a_drug_at_a_first_audio_consultation_is_refused_with_the_reason_and_nothing_stored(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    form = {**FORM, "medicines": [{**MEDICINE, "generic_name": "Azithromycin", "strength": "500 mg", "frequency": "OD"}]}
    resp, body = await doctor.post_json(f"/rx/api/consultations/{clinic.audio_consult}/prescriptions", form)
    assert resp.status == 422 and body["error"] == "tpg_rules"
    assert body["problems"][0]["message"].startswith("Azithromycin is on List A: a first consultation must be by video")
    resp, body = await doctor.post_json(f"/rx/api/consultations/{clinic.audio_consult}/prescriptions",
                                        {**FORM, "age_confirmed": False, "diagnosis": ""})
    assert {p["code"] for p in body["problems"]} == {"age", "diagnosis"}
    assert app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a) == []


async def test_a_doctor_cannot_write_at_another_doctors_consultation_nor_without_csrf(site):
    clinic, app, visitor = site
    other = await visitor("doctor", str(clinic.doctor_b))
    resp, _ = await other.post_json(f"/rx/api/consultations/{clinic.video_consult}/prescriptions", FORM)
    assert resp.status == 404
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp = await doctor.client.post(f"/rx/api/consultations/{clinic.video_consult}/prescriptions", json=FORM)
    assert resp.status == 403
    patient = await visitor("patient", "9800000001")
    resp = await patient.client.post(f"/rx/api/consultations/{clinic.video_consult}/prescriptions", json=FORM,
                                     headers={**patient.csrf(), "Accept": "application/json"})
    assert resp.status == 401
    assert app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a) == []


async def test_the_verify_page_shows_valid_superseded_and_revoked_and_a_pharmacist_marks_dispensed(site):
    clinic, app, visitor = site
    doctor, first = await _issue(visitor, clinic)
    pharmacist = await visitor()
    resp = await pharmacist.get(URL(first["verify_url"]).path_qs)
    html = await resp.text()
    assert 'data-status="valid"' in html and "Dr. Asha" in html and "KMC-48213" in html and "PARACETAMOL" in html
    chemist = await visitor("pharmacist", str(clinic.pharmacist))
    resp = await chemist.client.post("/rx/verify/dispense", allow_redirects=False, data={
        "csrf": chemist.csrf()["X-CSRF-Token"], "id": first["id"], "version": "1", "q0": "9",
        "note": "3 days of paracetamol"})
    assert resp.status == 303
    resp = await pharmacist.get(f"/rx/verify?id={first['id'].lower().replace('-', '')}")
    assert "M. Iyer (licence KSPC-22310)" in await resp.text()

    resp, second = await doctor.post_json(f"/rx/api/prescriptions/{first['id']}/correct",
                                          {"medicines": [{**MEDICINE, "duration_days": 5}]})
    assert resp.status == 201 and second["version"] == 2
    resp = await pharmacist.get(f"/rx/verify?c={first['verify_url'].split('c=', 1)[1]}",
                                headers={"Accept": "application/json"})
    old = await resp.json()
    assert old["status"] == "superseded" and old["latest_version"] == 2 and old["registration_number"] == "KMC-48213"

    resp, body = await doctor.post_json(f"/rx/api/prescriptions/{first['id']}/revoke", {"reason": "Wrong patient"})
    assert resp.status == 200
    resp = await pharmacist.get(f"/rx/verify?c={second['verify_url'].split('c=', 1)[1]}",
                                headers={"Accept": "application/json"})
    revoked = await resp.json()
    assert revoked["status"] == "revoked" and "Wrong patient" in revoked["reason"]
    resp = await chemist.client.post("/rx/verify/dispense", allow_redirects=False, data={
        "csrf": chemist.csrf()["X-CSRF-Token"], "id": first["id"], "version": "2", "q0": "1"})
    assert resp.status == 409


async def test_a_tampered_code_on_the_verify_page_is_invalid(site):
    clinic, app, visitor = site
    _, issued = await _issue(visitor, clinic)
    code = issued["verify_url"].split("c=", 1)[1]
    broken = code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:]
    resp = await (await visitor()).get(f"/rx/verify?c={broken}", headers={"Accept": "application/json"})
    assert (await resp.json())["status"] == "invalid"


async def test_the_doctors_html_form_refuses_with_the_reason_then_signs_and_lists_the_prescription(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp = await doctor.get(f"/rx/consultations/{clinic.audio_consult}/new")
    page = await resp.text()
    assert resp.status == 200 and "सीता देवी" in page and "Allowed drug lists here: O." in page
    form = {"csrf": doctor.csrf()["X-CSRF-Token"], "age_confirmed": "yes", "diagnosis": "Acute bronchitis",
            "m0_generic_name": "Azithromycin", "m0_strength": "500 mg", "m0_form": "tablet", "m0_dose": "1 tablet",
            "m0_frequency": "OD", "m0_duration_days": "3", "m0_quantity": "3", "m0_route": "oral"}
    resp = await doctor.client.post(f"/rx/consultations/{clinic.audio_consult}/new", data=form,
                                    allow_redirects=False)
    page = await resp.text()
    assert resp.status == 422 and "Azithromycin is on List A: a first consultation must be by video" in page
    assert 'value="Acute bronchitis"' in page  # the doctor's input is kept
    resp = await doctor.client.post(f"/rx/consultations/{clinic.audio_consult}/new", allow_redirects=False,
                                    data={**form, "m0_generic_name": "Paracetamol", "m0_frequency": "TDS"})
    assert resp.status == 303 and resp.headers["Location"].startswith("/rx/mine#")
    rx_id = resp.headers["Location"].split("#")[1]
    resp = await doctor.get("/rx/mine")
    assert f'id="{rx_id}"' in await resp.text()
    other = await visitor("doctor", str(clinic.doctor_b))
    assert (await other.get(f"/rx/consultations/{clinic.audio_consult}/new")).status == 404


async def test_the_doctor_revokes_from_their_list_and_nobody_else_can(site):
    clinic, app, visitor = site
    doctor, issued = await _issue(visitor, clinic)
    other = await visitor("doctor", str(clinic.doctor_b))
    resp = await other.client.post(f"/rx/{issued['id']}/revoke", allow_redirects=False,
                                   data={"csrf": other.csrf()["X-CSRF-Token"], "reason": "not mine"})
    assert resp.status == 404
    page = await (await doctor.get("/rx/mine")).text()
    assert f'action="/rx/{issued["id"]}/revoke"' in page
    resp = await doctor.client.post(f"/rx/{issued['id']}/revoke", allow_redirects=False,
                                    data={"csrf": doctor.csrf()["X-CSRF-Token"], "reason": "Dose written wrongly"})
    assert resp.status == 303
    resp = await doctor.get("/rx/mine", headers={"Accept": "application/json"})
    assert [i["status"] for i in await resp.json()] == ["revoked"]
    assert app[RX_SERVICE].store.revocation(issued["id"], 1).revoked_by == str(clinic.doctor_a)


async def test_the_doctor_corrects_through_the_prefilled_form_and_the_old_version_is_superseded(site):
    clinic, app, visitor = site
    doctor, issued = await _issue(visitor, clinic)
    page = await (await doctor.get(f"/rx/{issued['id']}/correct")).text()
    assert 'value="Acute viral fever"' in page and 'name="m0_generic_name" list="formulary" value="Paracetamol"' in page
    form = {"csrf": doctor.csrf()["X-CSRF-Token"], "diagnosis": "Acute viral fever", "provisional": "yes",
            "m0_generic_name": "Paracetamol", "m0_strength": "650 mg", "m0_form": "tablet", "m0_dose": "1 tablet",
            "m0_frequency": "TDS", "m0_duration_days": "3", "m0_quantity": "9", "m0_route": "oral"}
    resp = await doctor.client.post(f"/rx/{issued['id']}/correct", data=form, allow_redirects=False)
    assert resp.status == 303
    versions = app[RX_SERVICE].store.versions(issued["id"])
    assert [v.prescription.medicines[0].strength for v in versions] == ["500 mg", "650 mg"]
    assert versions[1].prescription.patient == versions[0].prescription.patient  # the confirmed snapshot stays
    other = await visitor("doctor", str(clinic.doctor_b))
    assert (await other.get(f"/rx/{issued['id']}/correct")).status == 404


async def test_a_patient_reads_the_list_in_the_language_chosen_in_the_portal(site):
    clinic, app, visitor = site
    _, issued = await _issue(visitor, clinic)
    patient = await visitor("patient", "9800000001")
    patient.client.session.cookie_jar.update_cookies({"vaidya_lang": "hi"})
    page = await (await patient.get("/rx/mine")).text()
    assert "आपकी दवा पर्चियाँ / Your prescriptions" in page and "मान्य / valid" in page
    assert f'href="/rx/{issued["id"]}.pdf">पीडीएफ डाउनलोड करें / Download PDF' in page
    assert 'action="/rx/' not in page  # no doctor's actions for a patient
