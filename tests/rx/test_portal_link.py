"""The seam to the portal: its consultation records become Rx snapshots, consent included."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from portal import db as portal_db
from portal import storage as st
from portal.models import Consent, ConsentHow, ConsultMode, Sex, StartedBy, Visit
from rx.formulary import default_formulary
from rx.model import Initiator, Mode
from rx.model import Visit as RxVisit
from rx.portal_link import NotYours, issue_context, patient_ids_for_mobile
from rx.rules import check

from .builders import ISSUED, prescription


@pytest.fixture
def conn(tmp_path):
    conn = portal_db.connect(tmp_path / portal_db.DB_FILE)
    portal_db.migrate(conn)
    yield conn
    conn.close()


def _consult(conn, started_by: StartedBy, how: ConsentHow, mode=ConsultMode.AUDIO, visit=Visit.FOLLOW_UP):
    opd = st.find_opd(conn, "GEN") or st.add_opd(conn, code="GEN", name="General OPD")
    doctor = st.add_doctor(conn, username=f"dr-{time.monotonic_ns()}", name="Dr. Meera Nair",
                           qualification="MBBS, DNB", registration_number="TCMC-5521",
                           council="Travancore-Cochin Medical Council", password_hash="x")
    patient = st.add_patient(conn, mobile="9800000003", name="Anil", sex=Sex.MALE, state="Kerala",
                             district="Kollam", language="ml", birth_date=dt.date(1970, 5, 2))
    token = st.add_token(conn, opd=opd, patient_id=patient.id, day=dt.date.today(), language="ml", visit=visit)
    consult = st.add_consultation(conn, token=token, doctor_id=doctor.id, room="r", mode=mode, started_by=started_by,
                                  started_by_id="hw:1", consent=Consent("Anil (patient)", ISSUED.timestamp() - 600, how))
    return doctor, patient, consult


def test_a_health_worker_consult_carries_its_recorded_consent_into_the_prescription(conn):
    doctor, patient, consult = _consult(conn, StartedBy.HEALTH_WORKER, ConsentHow.VERBAL)
    ctx = issue_context(conn, consult.id, doctor.id, dt.date(2026, 11, 26))
    c = ctx.consultation
    # Booked as a follow-up, but that tick does not decide: only a linked or declared earlier consultation does.
    assert (c.mode, c.visit, c.started_by) == (Mode.AUDIO, RxVisit.FIRST, Initiator.HEALTH_WORKER)
    assert c.consent.given_by == "Anil (patient)" and c.consent.method == "verbal"
    assert ctx.patient.age_years == 56 and not ctx.patient.age_confirmed
    assert (ctx.doctor.registration_number, ctx.doctor.council) == ("TCMC-5521", "Travancore-Cochin Medical Council")
    rx = prescription(consultation=c, doctor=ctx.doctor, patient=prescription().patient)
    assert check(rx, default_formulary()) == []


def test_implied_consent_on_a_consult_someone_else_started_is_refused_at_signing(conn):
    doctor, _, consult = _consult(conn, StartedBy.DOCTOR, ConsentHow.IMPLIED)
    ctx = issue_context(conn, consult.id, doctor.id, dt.date.today())
    rx = prescription(consultation=ctx.consultation)
    assert [p.code for p in check(rx, default_formulary())] == ["consent"]


def test_only_the_consultations_doctor_gets_a_context_and_family_members_share_a_mobile(conn):
    doctor, patient, consult = _consult(conn, StartedBy.PATIENT, ConsentHow.IMPLIED)
    with pytest.raises(NotYours):
        issue_context(conn, consult.id, doctor.id + 1000, dt.date.today())
    with pytest.raises(LookupError):
        issue_context(conn, 999_999, doctor.id, dt.date.today())
    child = st.add_patient(conn, mobile="9800000003", name="Anu", sex=Sex.FEMALE, state="Kerala",
                           district="Kollam", language="ml", age_years=8)
    assert patient_ids_for_mobile(conn, "9800000003") == {patient.id, child.id}
