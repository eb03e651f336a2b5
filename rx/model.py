"""The prescription as the doctor signs it: consultation context and frozen doctor and patient snapshots.

Everything here is plain, immutable data. Snapshots are copied into the prescription at signing time so a
later change to a doctor's or patient's profile never alters what was signed.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: Languages a prescription can be printed in (labels are in the patient's language and English).
LANGUAGES = ("en", "hi", "bn", "mr", "te", "ta", "gu", "ur", "kn", "or", "ml")

#: Crockford base32 without I, L, O, U: a prescription ID a pharmacist can read out or type.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Mode(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


class Visit(enum.StrEnum):
    FIRST = "first"
    FOLLOW_UP = "follow_up"


class Initiator(enum.StrEnum):
    """Who started the consultation; anyone but the patient needs the patient's explicit consent."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    HEALTH_WORKER = "health_worker"
    CAREGIVER = "caregiver"


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


@dataclass(frozen=True)
class Consent:
    """Explicit consent as TPG asks it to be recorded: who gave it, when and how."""

    given_by: str
    recorded_at: datetime
    method: str  # e.g. "verbal on video", "typed in chat", "signed form at health centre"


@dataclass(frozen=True)
class EarlierConsult:
    """The consultation this one follows up, from the portal's record (same patient, same doctor: checked)."""

    id: str
    on: date
    mode: Mode


@dataclass(frozen=True)
class InPersonVisit:
    """An earlier in-person consultation for this condition, declared by the doctor who saw the patient."""

    on: date
    place: str
    #: The treatment started or continued there that the patient still takes (List B adds to one of these).
    treatment: tuple[str, ...]


@dataclass(frozen=True)
class Consultation:
    id: str
    mode: Mode
    visit: Visit
    started_by: Initiator
    consent: Consent | None = None
    #: Set with `in_person` (kept as signed in prescriptions made before the declaration existed).
    prior_in_person: bool = False
    started_at: datetime | None = None
    #: The basis of a follow-up (rx.followup): a linked earlier consultation, a declared in-person one, or both.
    follows: EarlierConsult | None = None
    in_person: InPersonVisit | None = None


@dataclass(frozen=True)
class DoctorSnapshot:
    id: str
    name: str
    qualification: str
    registration_number: str
    council: str  # e.g. "Karnataka Medical Council" or "National Medical Commission"
    contact: str = ""
    facility: str = ""


@dataclass(frozen=True)
class PatientSnapshot:
    id: str
    name: str
    age_years: int | None
    age_confirmed: bool
    sex: Sex
    language: str = "en"
    weight_kg: str = ""  # decimals kept as text so canonical bytes never depend on float formatting
    height_cm: str = ""
    lmp: date | None = None
    #: For a minor: the identified adult present at the consultation (TPG 3.7.1).
    accompanying_adult: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Medicine:
    """One line of the Rx. `generic_name` names a formulary drug unless `free_text` is set."""

    generic_name: str
    strength: str
    form: str
    dose: str
    frequency: str  # a code from rx.dosage.FREQUENCIES, e.g. "BD"
    duration_days: int
    route: str = "oral"
    instructions: str = ""
    #: Not in the formulary: written as free text, allowed only with the doctor's explicit confirmation.
    free_text: bool = False
    free_text_confirmed: bool = False
    #: The doctor attests the patient already takes this medicine: a List A refill at a follow-up.
    refill: bool = False
    #: The doctor read this line's warnings (Schedule H1, MTP Act, shared ingredient, high dose) and signs anyway.
    warning_acknowledged: bool = False
    #: How much to dispense, in units of the form (tablets, sachets, tubes); 0 only in lines signed before.
    quantity: int = 0
    #: Further fills of `quantity` a pharmacist may dispense after the first.
    repeats: int = 0
    #: List B: the drug from the in-person treatment this one is added to.
    add_on_to: str = ""


@dataclass(frozen=True)
class PharmacistSnapshot:
    """The registered pharmacist who dispenses, as recorded on each dispensing mark."""

    id: str
    name: str
    licence_number: str
    pharmacy: str


@dataclass(frozen=True)
class Prescription:
    id: str
    version: int
    issued_at: datetime
    consultation: Consultation
    doctor: DoctorSnapshot
    patient: PatientSnapshot
    diagnosis: str
    provisional: bool = False
    chief_complaints: str = ""
    history: str = ""
    findings: str = ""
    investigations: str = ""
    medicines: tuple[Medicine, ...] = ()
    advice: str = ""
    follow_up: date | None = None
    #: The version this one corrects (None for version 1).
    supersedes: int | None = None

    def corrected(self, issued_at: datetime, **changes: Any) -> Prescription:
        """The next version of this prescription, carrying `changes`; the caller signs it anew."""
        return dataclasses.replace(
            self, version=self.version + 1, supersedes=self.version, issued_at=issued_at, **changes
        )


@dataclass(frozen=True)
class Signed:
    """A signed prescription version as stored: the exact bytes signed, and the signature over them."""

    prescription: Prescription
    canonical: bytes
    digest: bytes
    key_id: str
    signature: bytes
    signed_at: datetime
    #: Which statement the signature covers: 2 includes the medicine lines (rx.qr), 1 is the earlier form.
    statement_version: int = 2


def new_prescription_id() -> str:
    """Twelve Crockford base32 characters (60 random bits), grouped 4-4-4 for reading aloud."""
    raw = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_prescription_id(text: str) -> str:
    """Accept what a pharmacist types: lower case, missing dashes, O for 0 and I/L for 1."""
    raw = text.strip().upper().replace("-", "").replace(" ", "")
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(raw) != 12 or any(c not in _ID_ALPHABET for c in raw):
        raise ValueError(f"not a prescription ID: {text!r} (expected 12 characters like 7K3M-9QXD-4TBZ)")
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
