"""What staff screens show: a doctor's queues and open rooms, a patient summary, a health worker's referrals.

Read models only (no changes except audit entries); each also gives a JSON-ready `public()` form.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import clinic_time
from . import storage as st
from .errors import Forbidden, NotFoundError
from .i18n import N_
from .models import Consultation, ConsultStatus, Doctor, HealthWorker, Opd, Patient, Token, TokenStatus, Upload


@dataclass(frozen=True)
class WaitingEntry:
    token: Token
    patient: Patient
    wants_me: bool
    speaks: bool  # the doctor speaks the patient's language
    facility: str  # the spoke, for a health worker's referral

    def public(self) -> dict[str, object]:
        return {"token": self.token.public(), "patient": self.patient.public(), "wants_me": self.wants_me,
                "speaks_language": self.speaks, "facility": self.facility}


@dataclass(frozen=True)
class OpenRoom:
    consultation: Consultation
    patient: Patient
    token: Token

    @property
    def shown_status(self) -> str:
        """What the room is to the doctor: "called" until the patient presses Call now, not "in the room"."""
        waiting = self.consultation.status is ConsultStatus.ACTIVE and self.token.status is TokenStatus.CALLED
        return "called" if waiting else self.consultation.status.value

    def public(self) -> dict[str, object]:
        return {"consultation": self.consultation.public(), "patient": self.patient.public(),
                "token_number": self.token.number}


@dataclass(frozen=True)
class DoctorDashboard:
    doctor: Doctor
    queues: list[tuple[Opd, list[WaitingEntry]]]
    rooms: list[OpenRoom]

    def public(self) -> dict[str, object]:
        return {
            "doctor": self.doctor.public(),
            "queues": [{"opd": opd.public(), "waiting": [w.public() for w in entries]}
                       for opd, entries in self.queues],
            "rooms": [r.public() for r in self.rooms],
        }


def doctor_dashboard(conn: sqlite3.Connection, doctor_id: int) -> DoctorDashboard:
    doctor = st.get_doctor(conn, doctor_id)
    queues = []
    for opd in st.opds_of_doctor(conn, doctor_id):
        entries = []
        for token in st.waiting_tokens(conn, opd.id):
            facility = st.get_health_worker(conn, token.health_worker_id).facility if token.health_worker_id else ""
            entries.append(WaitingEntry(token, st.get_patient(conn, token.patient_id),
                                        token.want_doctor_id == doctor.id, doctor.speaks(token.language), facility))
        queues.append((opd, entries))
    return DoctorDashboard(doctor, queues, open_rooms(conn, doctor_id))


def open_rooms(conn: sqlite3.Connection, doctor_id: int) -> list[OpenRoom]:
    """The doctor's consultations in progress or on hold, oldest first."""
    return [OpenRoom(c, st.get_patient(conn, c.patient_id), st.get_token(conn, c.token_id))
            for c in st.open_consultations(conn, doctor_id)]


def doctor_may_see(conn: sqlite3.Connection, doctor_id: int, patient_id: str) -> bool:
    """A doctor sees a patient who holds a token in one of the doctor's OPDs."""
    opds = {o.id for o in st.opds_of_doctor(conn, doctor_id)}
    return any(t.opd_id in opds for t in st.tokens_for_patients(conn, [patient_id]))


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    consultations: list[Consultation]
    uploads: list[Upload]

    def public(self) -> dict[str, object]:
        return {"patient": self.patient.public(),
                "consultations": [c.public() for c in self.consultations],
                "uploads": [u.public() for u in self.uploads]}


def patient_summary(conn: sqlite3.Connection, doctor_id: int, patient_id: str, client: str) -> PatientSummary:
    """The record a doctor opens before a consult; every view is written to the audit log."""
    try:
        patient = st.get_patient(conn, patient_id)
    except st.NotFound:
        raise NotFoundError("no_patient", N_("This page does not exist.")) from None
    if not doctor_may_see(conn, doctor_id, patient_id):
        raise Forbidden("not_your_patient", N_("This patient is not in your OPDs."))
    st.audit(conn, f"doctor:{doctor_id}", "view", f"patient:{patient_id}", client)
    return PatientSummary(patient, st.consultations_of_patient(conn, patient_id),
                          st.uploads_of_patient(conn, patient_id))


@dataclass(frozen=True)
class Referral:
    token: Token
    patient: Patient
    opd: Opd
    in_room: bool


def hw_referrals(conn: sqlite3.Connection, hw_id: int) -> tuple[HealthWorker, list[Referral], list[Opd]]:
    hw = st.get_health_worker(conn, hw_id)
    referrals = []
    for token in st.tokens_of_health_worker(conn, hw_id, clinic_time.today()):
        c = st.get_consultation(conn, token.consultation_id) if token.consultation_id else None
        in_room = c is not None and c.status.value in ("active", "held")
        referrals.append(Referral(token, st.get_patient(conn, token.patient_id), st.get_opd(conn, token.opd_id),
                                  in_room))
    hubs = [o for o in st.list_opds(conn) if o.is_hub]
    return hw, referrals, hubs
