"""The prescription form as the doctor's consult workspace uses it: loaded as a bare HTML fragment into the
page that holds the call, and submitted with fetch, answered in JSON (201 signed / 422 refused with the
problems / 400 bad fields), so the page never navigates away from the video."""

from __future__ import annotations

from rx.web import RX_SERVICE

FORM = {"age_confirmed": "yes", "diagnosis": "Acute bronchitis", "m0_generic_name": "Azithromycin",
        "m0_strength": "500 mg", "m0_form": "tablet", "m0_dose": "1 tablet", "m0_frequency": "OD",
        "m0_duration_days": "3", "m0_quantity": "3", "m0_route": "oral"}
JSON = {"Accept": "application/json"}


async def test_the_form_fragment_is_the_bare_form_posting_to_its_consultation(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp = await doctor.get(f"/rx/consultations/{clinic.audio_consult}/new?fragment=1")
    html = await resp.text()
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    assert "<html" not in html and "<script" not in html and "<h1" not in html
    assert f'<form method="post" action="/rx/consultations/{clinic.audio_consult}/new"' in html
    assert 'name="m0_generic_name"' in html and 'name="csrf"' in html
    assert f'data-suggest="/rx/api/consultations/{clinic.audio_consult}/formulary"' in html
    other = await visitor("doctor", str(clinic.doctor_b))
    assert (await other.get(f"/rx/consultations/{clinic.audio_consult}/new?fragment=1")).status == 404


async def test_the_form_answers_json_a_refusal_with_its_problems_then_the_signed_prescription(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    url = f"/rx/consultations/{clinic.audio_consult}/new"
    form = {"csrf": doctor.csrf()["X-CSRF-Token"], **FORM}
    resp = await doctor.client.post(url, data=form, headers=JSON, allow_redirects=False)
    body = await resp.json()
    assert resp.status == 422 and body["error"] == "tpg_rules", body
    assert any("Azithromycin is on List A" in p["message"] for p in body["problems"]), body
    assert app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a) == [], "nothing signed"

    resp = await doctor.client.post(url, data={**form, "follows_consultation": "the last one"}, headers=JSON,
                                    allow_redirects=False)
    body = await resp.json()
    assert resp.status == 400 and body["error"] == "invalid" and body["fields"], body

    resp = await doctor.client.post(url, data={**form, "m0_generic_name": "Paracetamol", "m0_frequency": "TDS"},
                                    headers=JSON, allow_redirects=False)
    body = await resp.json()
    assert resp.status == 201, body
    assert body["pdf"] == f"/rx/{body['id']}.pdf" and body["version"] == 1
    [signed] = app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a)
    assert signed.prescription.id == body["id"]
    resp = await doctor.get(body["pdf"])
    assert resp.status == 200 and resp.content_type == "application/pdf"


async def test_without_json_asked_the_form_still_redirects_to_the_list(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    form = {"csrf": doctor.csrf()["X-CSRF-Token"], **FORM, "m0_generic_name": "Paracetamol", "m0_frequency": "TDS"}
    resp = await doctor.client.post(f"/rx/consultations/{clinic.audio_consult}/new", data=form,
                                    allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/rx/mine#")
