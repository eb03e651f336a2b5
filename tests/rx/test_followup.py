"""Follow-up from the record (TPG 2020): the same patient, the same doctor, within six months; List B only as
an add-on to treatment started at a declared in-person consultation. What the patient ticked when booking
no longer decides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from portal import db as portal_db
from portal import storage as st
from portal.models import Consent, ConsentHow, ConsultMode, ConsultStatus, Sex, StartedBy, Visit
from rx.canonical import canonical_bytes, parse_canonical
from rx.formulary import default_formulary
from rx.intake import build_prescription
from rx.localtime import local_date
from rx.model import EarlierConsult, InPersonVisit, Mode
from rx.model import Visit as RxVisit
from rx.portal_link import NotAFollowUp, earlier_consultation, follow_up_candidates, issue_context
from rx.rules import check

from .builders import ISSUED, consultation, medicine, prescription

IN_PERSON = InPersonVisit(on=dt.date(2026, 9, 12), place="District Hospital, Tumakuru",
                          treatment=("Atenolol 50 mg OD",))
EARLIER = EarlierConsult(id="41", on=dt.date(2026, 10, 20), mode=Mode.VIDEO)


def _follow_up(**changes):
    return consultation(**{"visit": RxVisit.FOLLOW_UP, "follows": EARLIER, **changes})


def _codes(rx) -> list[str]:
    return [p.code for p in check(rx, default_formulary())]


# The rules (pure) ------------------------------------------------------------------------------------------
def test_an_earlier_consultation_within_six_months_makes_a_follow_up_and_refills_are_open():
    rx = prescription(consultation=_follow_up(mode=Mode.AUDIO), medicines=(medicine("Metformin", refill=True),))
    assert check(rx, default_formulary()) == []


@pytest.mark.parametrize(("on", "code"), [(dt.date(2026, 5, 26), None), (dt.date(2026, 5, 25), "follow_up_window"),
                                          (dt.date(2026, 11, 27), "follows_date")])
def test_the_six_month_window_is_counted_back_from_the_day_of_the_prescription(on, code):
    rx = prescription(consultation=_follow_up(follows=dataclasses.replace(EARLIER, on=on)))
    problems = check(rx, default_formulary())
    assert [p.code for p in problems] == ([code] if code else [])
    if code:
        assert "Consultation 41" in problems[0].message


def test_a_follow_up_without_any_earlier_consultation_on_record_is_refused_with_the_reason():
    rx = prescription(consultation=consultation(visit=RxVisit.FOLLOW_UP, follows=None))
    [problem] = check(rx, default_formulary())
    assert problem.code == "follow_up_unproven"
    assert "earlier consultation" in problem.message


def test_list_b_needs_a_declared_in_person_consultation_naming_the_missing_one():
    rx = prescription(consultation=_follow_up(), medicines=(
        medicine("Hydrochlorothiazide", strength="12.5 mg", frequency="OD", add_on_to="Atenolol"),))
    [problem] = check(rx, default_formulary())
    assert problem.code == "list_b_not_allowed"
    assert "no earlier in-person consultation" in problem.message


def test_list_b_must_name_the_drug_it_is_added_to_from_the_in_person_treatment():
    c = _follow_up(in_person=IN_PERSON)
    thiazide = medicine("Hydrochlorothiazide", strength="12.5 mg", frequency="OD")
    [missing] = check(prescription(consultation=c, medicines=(thiazide,)), default_formulary())
    assert missing.code == "list_b_add_on"
    assert "12-09-2026" in missing.message and "District Hospital, Tumakuru" in missing.message
    assert "Atenolol" in missing.message
    [wrong] = check(prescription(consultation=c, medicines=(dataclasses.replace(thiazide, add_on_to="Amlodipine"),)),
                    default_formulary())
    assert wrong.code == "list_b_add_on" and "Amlodipine" in wrong.message
    ok = prescription(consultation=c, medicines=(dataclasses.replace(thiazide, add_on_to="atenolol"),))
    assert check(ok, default_formulary()) == []


@pytest.mark.parametrize(("visit", "code"), [
    (dataclasses.replace(IN_PERSON, on=dt.date(2026, 11, 28)), "in_person_date"),
    (dataclasses.replace(IN_PERSON, on=dt.date(2026, 4, 1)), "follow_up_window"),
    (dataclasses.replace(IN_PERSON, place=" "), "in_person_place"),
    (dataclasses.replace(IN_PERSON, treatment=()), "in_person_treatment"),
])
def test_an_in_person_declaration_needs_a_past_date_in_the_window_a_place_and_the_treatment(visit, code):
    rx = prescription(consultation=consultation(visit=RxVisit.FOLLOW_UP, follows=None, in_person=visit))
    assert code in _codes(rx)


def test_the_in_person_declaration_and_the_link_are_signed_and_read_back(service):
    rx = prescription(consultation=_follow_up(in_person=IN_PERSON), medicines=(
        medicine("Atenolol", strength="50 mg", frequency="OD", duration_days=30, quantity=30, refill=True),
        medicine("Hydrochlorothiazide", strength="12.5 mg", frequency="OD", duration_days=30, quantity=30,
                 add_on_to="Atenolol")))
    signed = service.issue(rx)
    assert b'"place":"District Hospital, Tumakuru"' in signed.canonical and b'"follows"' in signed.canonical
    again = parse_canonical(signed.canonical)
    assert again.consultation.in_person == IN_PERSON and again.consultation.follows == EARLIER
    assert again.medicines[1].add_on_to == "Atenolol"


def test_a_prescription_signed_before_these_fields_keeps_its_exact_bytes():
    old = prescription()
    for key in (b'"follows"', b'"in_person"', b'"add_on_to"', b'"repeats"'):
        assert key not in canonical_bytes(old)


def test_the_doctor_is_told_why_each_signed_line_was_allowed():
    from rx.followup import why_allowed
    from rx.formulary import TpgList
    c = _follow_up(mode=Mode.AUDIO, in_person=IN_PERSON)
    thiazide = medicine("Hydrochlorothiazide", add_on_to="Atenolol")
    assert why_allowed(TpgList.B, thiazide, c) == (
        "List B: an add-on to Atenolol, started at the in-person consultation of 12-09-2026 at District Hospital, "
        "Tumakuru (Atenolol 50 mg OD).")
    assert "first consultation by video" in why_allowed(TpgList.O, medicine(), consultation())


def test_the_doctor_sees_the_basis_of_list_b_on_the_form():
    from rx.rules import describe_allowed
    words = describe_allowed(_follow_up(mode=Mode.AUDIO, in_person=IN_PERSON))
    assert words.startswith("O, A (refills only), B") and "12-09-2026" in words and "Atenolol" in words


# The record (portal consultations, real SQLite) ------------------------------------------------------------
@pytest.fixture
def conn(tmp_path):
    conn = portal_db.connect(tmp_path / portal_db.DB_FILE)
    portal_db.migrate(conn)
    yield conn
    conn.close()


def _clinic(conn):
    opd = st.add_opd(conn, code="GEN", name="General OPD")
    doctors = [st.add_doctor(conn, username=f"dr-{n}", name=f"Dr. {n}", qualification="MBBS",
                             registration_number="KMC-48213", council="Karnataka Medical Council",
                             password_hash="x").id for n in ("asha", "binod")]
    patients = [st.add_patient(conn, mobile=f"980000000{n}", name=name, sex=Sex.FEMALE, state="Karnataka",
                               district="Tumakuru", language="kn", age_years=58).id
                for n, name in ((1, "Savitri"), (2, "Lakshmi"))]
    return opd, doctors, patients


def _consult(conn, opd, doctor_id, patient_id, days_ago: float, visit=Visit.FIRST, ended=True) -> int:
    token = st.add_token(conn, opd=opd, patient_id=patient_id, day=dt.date.today(), language="kn", visit=visit)
    c = st.add_consultation(conn, token=token, doctor_id=doctor_id, room=f"r-{time.monotonic_ns()}",
                            mode=ConsultMode.VIDEO, started_by=StartedBy.PATIENT, started_by_id=f"patient:{patient_id}",
                            consent=Consent("patient", time.time(), ConsentHow.IMPLIED))
    at = time.time() - days_ago * 86400
    conn.execute("UPDATE consultations SET started_at = ?, consent_at = ? WHERE id = ?", (at, at, c.id))
    if ended:
        st.update_consultation(conn, c.id, status=ConsultStatus.ENDED, ended_at=at + 600)
    return c.id


def test_the_booking_tick_no_longer_makes_a_follow_up(conn):
    opd, (asha, _), (savitri, _) = _clinic(conn)
    now = _consult(conn, opd, asha, savitri, 0, visit=Visit.FOLLOW_UP, ended=False)
    ctx = issue_context(conn, now, asha, dt.date.today())
    assert ctx.consultation.visit is RxVisit.FIRST
    body = {"age_confirmed": True, "diagnosis": "Hypertension", "prior_in_person": True, "medicines": [
        {"generic_name": "Hydrochlorothiazide", "strength": "12.5 mg", "form": "tablet", "dose": "1 tablet",
         "frequency": "OD", "duration_days": 30, "quantity": 30}]}
    rx = build_prescription(body, "7K3M-9QXD-4TBZ", ISSUED, ctx.doctor, ctx.patient, ctx.consultation)
    assert rx.consultation.visit is RxVisit.FIRST
    assert "list_b_not_allowed" in _codes(rx)


def test_an_earlier_consultation_of_the_same_patient_with_the_same_doctor_is_found_and_offered(conn):
    opd, (asha, binod), (savitri, lakshmi) = _clinic(conn)
    earlier = _consult(conn, opd, asha, savitri, 30)
    _consult(conn, opd, binod, savitri, 20)  # another doctor
    _consult(conn, opd, asha, lakshmi, 10)  # another patient
    _consult(conn, opd, asha, savitri, 200)  # outside the window
    now = _consult(conn, opd, asha, savitri, 0, ended=False)
    found = earlier_consultation(conn, now, earlier)
    assert found.id == str(earlier) and found.mode is Mode.VIDEO
    assert found.on == local_date(dt.datetime.now(dt.UTC) - dt.timedelta(days=30))  # the clinic's day
    assert [c.id for c in follow_up_candidates(conn, now, local_date(dt.datetime.now(dt.UTC)))] == [str(earlier)]


def test_an_earlier_consultation_is_dated_by_the_clinics_day(conn):
    opd, (asha, _), (savitri, _) = _clinic(conn)
    earlier = _consult(conn, opd, asha, savitri, 3)
    half_past_midnight_ist = dt.datetime(2026, 11, 26, 19, 0, tzinfo=dt.UTC).timestamp()
    conn.execute("UPDATE consultations SET started_at = ? WHERE id = ?", (half_past_midnight_ist, earlier))
    now = _consult(conn, opd, asha, savitri, 0, ended=False)
    assert earlier_consultation(conn, now, earlier).on == dt.date(2026, 11, 27)
    assert earlier_consultation(conn, now, earlier, ZoneInfo("UTC")).on == dt.date(2026, 11, 26)
    # The form offers it while 27-05-2027 (India) is inside the window, not from 28-05-2027.
    assert [c.on for c in follow_up_candidates(conn, now, dt.date(2027, 5, 27))] == [dt.date(2026, 11, 27)]
    assert follow_up_candidates(conn, now, dt.date(2027, 5, 28)) == []


@pytest.mark.parametrize("whose", ["other_doctor", "other_patient", "missed", "itself", "unknown"])
def test_a_link_to_a_consultation_that_cannot_be_followed_up_is_refused_with_the_reason(conn, whose):
    opd, (asha, binod), (savitri, lakshmi) = _clinic(conn)
    now = _consult(conn, opd, asha, savitri, 0, ended=False)
    target = {
        "other_doctor": lambda: _consult(conn, opd, binod, savitri, 30),
        "other_patient": lambda: _consult(conn, opd, asha, lakshmi, 30),
        "missed": lambda: _missed(conn, opd, asha, savitri),
        "itself": lambda: now,
        "unknown": lambda: 999_999,
    }[whose]()
    with pytest.raises(NotAFollowUp) as refused:
        earlier_consultation(conn, now, target)
    assert str(target) in str(refused.value)


def _missed(conn, opd, doctor_id, patient_id) -> int:
    cid = _consult(conn, opd, doctor_id, patient_id, 15, ended=False)
    st.update_consultation(conn, cid, status=ConsultStatus.MISSED)
    return cid


# Over HTTP: the doctor links the earlier consultation; the server checks it ------------------------------------
async def test_the_doctor_links_an_earlier_consultation_on_the_form_and_another_patients_is_refused(site):
    import datetime as dt

    from portal import storage as st
    from portal.context import PORTAL
    from rx.web import RX_SERVICE

    from .web_harness import FORM, MEDICINE
    clinic, app, visitor = site

    def history(conn):
        opd = st.find_opd(conn, "GEN")
        token = st.add_token(conn, opd=opd, patient_id=clinic.patient_b, day=dt.date.today(), language="kn")
        other = st.add_consultation(conn, token=token, doctor_id=clinic.doctor_a, room="r-b", mode=ConsultMode.VIDEO,
                                    started_by=StartedBy.PATIENT, started_by_id="patient:b",
                                    consent=Consent("patient", time.time(), ConsentHow.IMPLIED))
        return other.id

    other_patients = await app[PORTAL].db.run(history)
    doctor = await visitor("doctor", str(clinic.doctor_a))
    page = await (await doctor.get(f"/rx/consultations/{clinic.audio_consult}/new")).text()
    assert f'<option value="{clinic.video_consult}"' in page and f'<option value="{other_patients}"' not in page
    path = f"/rx/api/consultations/{clinic.audio_consult}/prescriptions"
    resp, body = await doctor.post_json(path, {**FORM, "follows_consultation": other_patients})
    assert resp.status == 422 and "another patient" in body["problems"][0]["message"]
    metformin = {**MEDICINE, "generic_name": "Metformin", "frequency": "BD", "quantity": 6, "refill": True}
    resp, body = await doctor.post_json(path, {**FORM, "medicines": [metformin]})
    assert resp.status == 422 and "first consultation must be by video" in body["problems"][0]["message"]
    resp, body = await doctor.post_json(path, {**FORM, "medicines": [metformin],
                                               "follows_consultation": clinic.video_consult})
    assert resp.status == 201, body
    signed = app[RX_SERVICE].store.latest(body["id"])
    assert signed.prescription.consultation.visit is RxVisit.FOLLOW_UP
    assert signed.prescription.consultation.follows.id == str(clinic.video_consult)
    [why] = body["allowed"]
    assert why["list"] == "A" and why["why"].startswith("List A refill")
    assert f"consultation {clinic.video_consult} (video" in why["why"]


@pytest.mark.parametrize(("add_on_to", "treatment", "ok"), [
    ("ATENOLOL", ("Tab. atenolol 50 mg OD",), True),  # the formulary name inside what the doctor wrote
    ("Paracetamol", ("acetaminophen 500 mg SOS",), True),  # a formulary alias
    ("a", ("Atenolol 50 mg OD",), False),
    ("Telmisartan", ("Atenolol 50 mg OD",), False),
    ("Ayur-BP", ("ayur-bp 2 tablets BD (Ayurvedic, started at PHC)",), True),  # outside the formulary: by words
])
def test_the_add_on_must_name_a_drug_of_the_in_person_treatment_not_just_share_a_letter(add_on_to, treatment, ok):
    c = _follow_up(in_person=dataclasses.replace(IN_PERSON, treatment=treatment))
    rx = prescription(consultation=c, medicines=(medicine("Hydrochlorothiazide", add_on_to=add_on_to),))
    assert ("list_b_add_on" not in _codes(rx)) is ok


async def test_the_refused_form_shows_the_lists_open_on_the_declared_basis_and_why_list_b_was_refused(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    form = {"csrf": doctor.csrf()["X-CSRF-Token"], "age_confirmed": "yes", "diagnosis": "Essential hypertension",
            "follows_consultation": str(clinic.video_consult),
            "in_person_date": (dt.date.today() - dt.timedelta(days=28)).isoformat(),
            "in_person_place": "CHC Kunigal", "in_person_treatment": "Atenolol 50 mg OD",
            "m0_generic_name": "Hydrochlorothiazide", "m0_strength": "12.5 mg", "m0_form": "tablet",
            "m0_dose": "1 tablet", "m0_frequency": "OD", "m0_duration_days": "30", "m0_quantity": "30",
            "m0_route": "oral"}
    resp = await doctor.client.post(f"/rx/consultations/{clinic.audio_consult}/new", data=form, allow_redirects=False)
    page = await resp.text()
    assert resp.status == 422
    assert "Allowed drug lists here: O, A (refills only), B — follow-up of consultation" in page
    assert "name the drug it is added to (one of: Atenolol 50 mg OD)" in page
    resp = await doctor.client.post(f"/rx/consultations/{clinic.audio_consult}/new", allow_redirects=False,
                                    data={**form, "m0_add_on_to": "Atenolol"})
    assert resp.status == 303
