"""The doctor's HTML form on the real app: a controlled drug typed as free text is refused with its reason;
a Schedule H1 warning blocks signing until the doctor ticks the acknowledgement on that line, which is signed."""

from __future__ import annotations

from rx.canonical import parse_canonical
from rx.web import RX_SERVICE


def _form(doctor, **changes) -> dict[str, str]:
    return {"csrf": doctor.csrf()["X-CSRF-Token"], "age_confirmed": "yes", "weight_kg": "58",
            "diagnosis": "Acute tonsillitis", "m0_generic_name": "Cefixime", "m0_strength": "200 mg",
            "m0_form": "tablet", "m0_dose": "1 tablet", "m0_frequency": "BD", "m0_duration_days": "5",
            "m0_route": "oral", "m0_quantity": "10", **changes}


async def test_a_controlled_brand_written_as_free_text_is_refused_with_the_substance_and_act(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    form = _form(doctor, m0_generic_name="Tab.ALPRAX0.25", m0_free_text="yes", m0_free_text_confirmed="yes",
                 m0_warning_acknowledged="yes")
    resp = await doctor.client.post(f"/rx/consultations/{clinic.video_consult}/new", data=form,
                                    allow_redirects=False)
    page = await resp.text()
    assert resp.status == 422 and "Alprax (alprazolam) is prohibited in teleconsultation" in page
    assert "NDPS Act 1985" in page
    assert app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a) == []


async def test_an_h1_warning_is_signed_only_after_the_doctor_acknowledges_it_on_the_line(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    page = await (await doctor.get(f"/rx/consultations/{clinic.video_consult}/new")).text()
    assert 'name="m0_warning_acknowledged"' in page
    url = f"/rx/consultations/{clinic.video_consult}/new"
    resp = await doctor.client.post(url, data=_form(doctor), allow_redirects=False)
    page = await resp.text()
    assert resp.status == 422 and "Schedule H1" in page and "acknowledge the warning" in page
    assert app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a) == []
    resp = await doctor.client.post(url, data=_form(doctor, m0_warning_acknowledged="yes"), allow_redirects=False)
    assert resp.status == 303
    [signed] = app[RX_SERVICE].store.latest_for(patient_id=clinic.patient_a)
    assert signed.prescription.medicines[0].warning_acknowledged is True
    assert parse_canonical(signed.canonical).medicines[0].warning_acknowledged is True
