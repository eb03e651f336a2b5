"""The seam to the portal: its doctor, patient, consultation and pharmacist records as Rx snapshots, the
consultation history a follow-up is checked against, and who may see what.

Sync functions over the portal's SQLite connection (run them through `portal.db.run`). Nothing else in
rx reads portal tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from portal import pharmacists
from portal import storage as st
from portal import models as st_models
from portal.models import ConsentHow, ConsultStatus

from .followup import window_start
from .localtime import DEFAULT_ZONE, local_date
from .model import (
    Consent,
    Consultation,
    DoctorSnapshot,
    EarlierConsult,
    Initiator,
    Mode,
    PatientSnapshot,
    PharmacistSnapshot,
    Sex,
    Visit,
)


class NotYours(PermissionError):
    """The consultation belongs to another doctor."""


class NotAFollowUp(ValueError):
    """The linked consultation cannot be followed up from this one; the message says why, for the doctor."""


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
        # What the patient ticked when booking (c.visit) does not decide: rx.intake makes it a follow-up only
        # from the doctor's link to an earlier consultation or declared in-person one (rx.followup).
        consultation=Consultation(id=str(c.id), mode=Mode(c.mode.value), visit=Visit.FIRST,
                                  started_by=Initiator(c.started_by.value), consent=consent,
                                  started_at=_utc(c.started_at) if c.started_at else None),
        patient_mobile=p.mobile,
    )


def patient_ids_for_mobile(conn, mobile: str) -> frozenset[str]:
    """The patients registered on one mobile number (a family): a patient session sees all of theirs."""
    return frozenset(p.id for p in st.patients_for_mobile(conn, mobile))


def brought_by_health_worker(conn, hw_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """The patients and consultations a health worker brought to a doctor: at the spoke they print the
    prescriptions of those consultations for the patient, and nothing else."""
    pairs = st.consultations_brought_by(conn, hw_id)
    return frozenset(p for _, p in pairs), frozenset(str(c) for c, _ in pairs)


def _earlier(c: st_models.Consultation, zone: tzinfo) -> EarlierConsult:
    """The consultation as a follow-up names it, dated by the clinic's calendar (the day people read)."""
    return EarlierConsult(id=str(c.id), on=local_date(_utc(c.started_at), zone), mode=Mode(c.mode.value))


def earlier_consultation(conn, consultation_id: int, earlier_id: int,
                         zone: tzinfo = DEFAULT_ZONE) -> EarlierConsult:
    """The consultation `earlier_id` as the one `consultation_id` follows up: held by the same doctor with the
    same patient, before this one. The six-month window is checked at signing (rx.followup), on dates in the
    clinic's zone.

    Raises NotAFollowUp naming the consultation and the reason.
    """
    this = st.get_consultation(conn, consultation_id)
    try:
        earlier = st.get_consultation(conn, earlier_id)
    except st.NotFound:
        raise NotAFollowUp(f"There is no consultation {earlier_id}.") from None
    if earlier.id == this.id:
        raise NotAFollowUp(f"Consultation {earlier_id} is this consultation: link the earlier one.")
    if earlier.patient_id != this.patient_id:
        raise NotAFollowUp(f"Consultation {earlier_id} was with another patient.")
    if earlier.doctor_id != this.doctor_id:
        raise NotAFollowUp(f"Consultation {earlier_id} was with another doctor: TPG 2020 counts a follow-up only "
                           "with the same doctor.")
    if earlier.status is ConsultStatus.MISSED or earlier.started_at >= this.started_at:
        raise NotAFollowUp(f"Consultation {earlier_id} did not take place before this one.")
    return _earlier(earlier, zone)


def follow_up_candidates(conn, consultation_id: int, today: date,
                         zone: tzinfo = DEFAULT_ZONE) -> list[EarlierConsult]:
    """The doctor's earlier consultations with this patient inside the follow-up window, newest first (the
    choices on the prescription form); `today` and the consultations' days are the clinic's (`zone`)."""
    this = st.get_consultation(conn, consultation_id)
    start = window_start(today)
    return [earlier for c in st.consultations_of_patient(conn, this.patient_id)
            if c.doctor_id == this.doctor_id and c.id != this.id and c.status is not ConsultStatus.MISSED
            and c.started_at < this.started_at and (earlier := _earlier(c, zone)).on >= start]


def pharmacist_snapshot(conn, pharmacist_id: int) -> PharmacistSnapshot:
    """The logged-in pharmacist as a dispensing mark records them; LookupError if unknown or inactive."""
    chemist = pharmacists.get_pharmacist(conn, pharmacist_id)
    if not chemist.active:
        raise LookupError(f"pharmacist {pharmacist_id} is not active")
    return PharmacistSnapshot(id=str(chemist.id), name=chemist.name, licence_number=chemist.licence_number,
                              pharmacy=chemist.pharmacy)
