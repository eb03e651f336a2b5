"""Record shapes the portal stores, and the small vocabularies they use.

Plain dataclasses, built from SQLite rows by `portal.storage`. Private fields (password hashes, login
secrets) live only in the stored shapes; `public()` methods give what a page or JSON reply may show.
The Rx module reads these (doctor name, qualification, registration; patient name, age, sex; a
consultation's mode, visit, who started it and the consent).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import clinic_time


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class OpdKind(StrEnum):
    GENERAL = "general"
    SPECIALITY = "speciality"


class TokenStatus(StrEnum):
    BOOKED = "booked"  # has a number, not yet in the queue
    WAITING = "waiting"  # in the OPD queue
    CALLED = "called"  # a doctor admitted it: "Call now" is lit
    IN_CONSULT = "in_consult"  # the patient answered the call
    DONE = "done"
    EXPIRED = "expired"  # missed the call twice, or the day ended
    CANCELLED = "cancelled"


#: Tokens still alive: they count against capacity and may reach a doctor.
LIVE_TOKEN_STATUSES = (TokenStatus.BOOKED, TokenStatus.WAITING, TokenStatus.CALLED, TokenStatus.IN_CONSULT)


class ConsultMode(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


class Visit(StrEnum):
    FIRST = "first"
    FOLLOW_UP = "follow_up"


class StartedBy(StrEnum):
    """Who started the consultation: decides whether consent is implied (patient) or explicit."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    HEALTH_WORKER = "health_worker"
    CAREGIVER = "caregiver"


class ConsentHow(StrEnum):
    IMPLIED = "implied"  # the patient started the consult (TPG 2020)
    VERBAL = "verbal"
    WRITTEN = "written"
    THUMBPRINT = "thumbprint"


class ConsultStatus(StrEnum):
    ACTIVE = "active"
    HELD = "held"
    ENDED = "ended"
    MISSED = "missed"  # the patient did not answer the call


#: Open consultations: the doctor has a room for each.
OPEN_CONSULT_STATUSES = (ConsultStatus.ACTIVE, ConsultStatus.HELD)


@dataclass(frozen=True)
class Consent:
    """Who consented, when (unix seconds) and how. Implied when the patient starts the consult."""

    who: str
    at: float
    how: ConsentHow

    @property
    def explicit(self) -> bool:
        return self.how is not ConsentHow.IMPLIED


@dataclass
class Patient:
    id: str  # the human-readable Patient ID, e.g. "VP-4K7Q-9MZT"
    mobile: str  # several patients (a family) may share one number
    name: str
    sex: Sex
    state: str
    district: str
    language: str
    age_years: int | None = None
    birth_date: dt.date | None = None
    created_at: float = 0.0

    def age_on(self, day: dt.date) -> int | None:
        """Age in whole years on `day`, from the birth date when known, else the age given."""
        if self.birth_date is None:
            return self.age_years
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "sex": self.sex.value,
            "age": self.age_on(clinic_time.today()),
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "state": self.state,
            "district": self.district,
            "language": self.language,
        }


@dataclass
class Doctor:
    id: int
    username: str
    name: str
    qualification: str  # e.g. "MBBS, MD (Medicine)"
    registration_number: str
    council: str  # e.g. "Karnataka Medical Council" or "NMC"
    languages: list[str] = field(default_factory=list)
    specialities: list[str] = field(default_factory=list)
    password_hash: str = field(default="", repr=False)
    mobile: str = ""
    active: bool = True
    created_at: float = 0.0

    @property
    def identity(self) -> str:
        return f"doctor:{self.id}"

    def speaks(self, language: str) -> bool:
        return language in self.languages

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "qualification": self.qualification,
            "registration_number": self.registration_number,
            "council": self.council,
            "languages": list(self.languages),
            "specialities": list(self.specialities),
        }


@dataclass
class HealthWorker:
    id: int
    username: str
    name: str
    facility: str  # the spoke: e.g. "PHC Hosakote"
    password_hash: str = field(default="", repr=False)
    mobile: str = ""
    active: bool = True
    created_at: float = 0.0

    @property
    def identity(self) -> str:
        return f"hw:{self.id}"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "facility": self.facility}


@dataclass
class Opd:
    id: int
    code: str  # token prefix, e.g. "GEN"
    name: str
    kind: OpdKind
    speciality: str = ""
    opens: str = "00:00"  # HH:MM, server local time
    closes: str = "23:59"
    capacity: int = 200  # tokens per day
    consult_limit_min: int = 15
    is_hub: bool = False  # takes referrals from health workers at spokes

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "speciality": self.speciality,
            "opens": self.opens,
            "closes": self.closes,
            "capacity": self.capacity,
            "consult_limit_min": self.consult_limit_min,
            "is_hub": self.is_hub,
        }


@dataclass
class Token:
    id: int
    number: str  # OPD prefix + daily sequence, e.g. "GEN-007"
    opd_id: int
    patient_id: str
    day: dt.date
    seq: int
    language: str
    status: TokenStatus
    visit: Visit = Visit.FIRST
    want_doctor_id: int | None = None  # "the doctor I saw last time"
    queued_at: float | None = None  # queue order; set on joining the queue
    missed_count: int = 0
    doctor_id: int | None = None
    consultation_id: int | None = None
    health_worker_id: int | None = None  # set for hub-and-spoke referrals
    consent: Consent | None = None  # explicit consent recorded at referral
    login_secret_hash: str = field(default="", repr=False)
    created_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "opd_id": self.opd_id,
            "patient_id": self.patient_id,
            "day": self.day.isoformat(),
            "language": self.language,
            "status": self.status.value,
            "visit": self.visit.value,
            "missed_count": self.missed_count,
        }


@dataclass
class Consultation:
    id: int
    token_id: int
    patient_id: str
    doctor_id: int
    opd_id: int
    room: str
    mode: ConsultMode
    visit: Visit
    started_by: StartedBy
    consent: Consent
    status: ConsultStatus
    started_by_id: str = ""  # identity of the starter, e.g. "patient:VP-…" or "hw:3"
    health_worker_id: int | None = None
    started_at: float = 0.0  # when the doctor admitted the patient
    answered_at: float | None = None  # when the patient pressed "Call now"
    ended_at: float | None = None
    duration_s: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token_id": self.token_id,
            "patient_id": self.patient_id,
            "doctor_id": self.doctor_id,
            "opd_id": self.opd_id,
            "room": self.room,
            "mode": self.mode.value,
            "visit": self.visit.value,
            "started_by": self.started_by.value,
            "consent": {"who": self.consent.who, "at": self.consent.at, "how": self.consent.how.value},
            "status": self.status.value,
            "health_worker_id": self.health_worker_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
        }


@dataclass
class Upload:
    id: int
    patient_id: str
    token_id: int | None
    filename: str  # shown to people only; never used as a path
    content_type: str  # from the content, not the name
    size: int
    sha256: str
    stored_name: str = field(default="", repr=False)  # file name under data_dir/uploads
    uploaded_by: str = ""
    created_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "token_id": self.token_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str  # identity: "doctor:3", "mobile:98…", "hw:2", "admin"
    action: str  # "view", "download", "admit", …
    subject: str  # "patient:VP-…", "upload:12", …
    client: str = ""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    at: float
