"""The seam to the portal: its doctor, patient and consultation records as Rx snapshots, and who may see what.

Sync functions over the portal's SQLite connection (run them through `portal.db.run`). Nothing else in
rx reads portal tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from portal import storage as st
from portal.models import ConsentHow

from .model import Consent, Consultation, DoctorSnapshot, Initiator, Mode, PatientSnapshot, Sex, Visit


class NotYours(PermissionError):
    """The consultation belongs to another doctor."""


@dataclass(frozen=True)
class IssueContext:
    doctor: DoctorSnapshot
    patient: PatientSnapshot
    consultation: Consultation
    patient_mobile: str


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0)


def issue_context(conn, consultation_id: int, doctor_id: int, today: date) -> IssueContext:
    """Snapshots for a prescription at this consultation; only its own doctor may write one.

    Raises LookupError for an unknown consultation and NotYours for another doctor's.
    """
    try:
        c = st.get_consultation(conn, consultation_id)
    except st.NotFound as exc:
        raise LookupError(str(exc)) from exc
    if c.doctor_id != doctor_id:
        raise NotYours("this consultation belongs to another doctor")
    d = st.get_doctor(conn, c.doctor_id)
    p = st.get_patient(conn, c.patient_id)
    opd = st.get_opd(conn, c.opd_id)
    consent = None
    if c.consent.how is not ConsentHow.IMPLIED:
        consent = Consent(given_by=c.consent.who, recorded_at=_utc(c.consent.at), method=c.consent.how.value)
    return IssueContext(
        doctor=DoctorSnapshot(id=str(d.id), name=d.name, qualification=d.qualification,
                              registration_number=d.registration_number, council=d.council, contact=d.mobile,
                              facility=opd.name),
        patient=PatientSnapshot(id=p.id, name=p.name, age_years=p.age_on(today), age_confirmed=False,
                                sex=Sex(p.sex.value), language=p.language, phone=p.mobile),
        consultation=Consultation(id=str(c.id), mode=Mode(c.mode.value), visit=Visit(c.visit.value),
                                  started_by=Initiator(c.started_by.value), consent=consent,
                                  started_at=_utc(c.started_at) if c.started_at else None),
        patient_mobile=p.mobile,
    )


def patient_ids_for_mobile(conn, mobile: str) -> frozenset[str]:
    """The patients registered on one mobile number (a family): a patient session sees all of theirs."""
    return frozenset(p.id for p in st.patients_for_mobile(conn, mobile))
