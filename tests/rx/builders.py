"""Builders for prescriptions in a known-good state; each test changes only what it is about."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from rx.model import (
    Consent,
    Consultation,
    DoctorSnapshot,
    EarlierConsult,
    Initiator,
    InPersonVisit,
    Medicine,
    Mode,
    PatientSnapshot,
    Prescription,
    Sex,
    Visit,
)

SECRET = "test-secret-" + "x" * 40
ISSUED = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


def doctor(**changes) -> DoctorSnapshot:
    base = DoctorSnapshot(
        id="doc-1", name="Dr. Asha Rao", qualification="MBBS, MD (General Medicine)",
        registration_number="KMC-48213", council="Karnataka Medical Council",
        contact="+91 80 4000 1234", facility="Vaidya Teleconsultation Hub",
    )
    return dataclasses.replace(base, **changes)


def patient(**changes) -> PatientSnapshot:
    base = PatientSnapshot(
        id="pat-1", name="Sita Devi", age_years=42, age_confirmed=True, sex=Sex.FEMALE, language="hi",
        weight_kg="58.5", height_cm="154", phone="+919800000001",
    )
    return dataclasses.replace(base, **changes)


#: The basis of a follow-up on record: an earlier consultation, and the in-person one hypertension started at.
EARLIER = EarlierConsult(id="41", on=date(2026, 10, 20), mode=Mode.VIDEO)
IN_PERSON = InPersonVisit(on=date(2026, 9, 12), place="District Hospital, Tumakuru", treatment=("Atenolol 50 mg OD",))


def consultation(**changes) -> Consultation:
    """A follow-up links EARLIER unless told otherwise; `prior_in_person=True` declares IN_PERSON."""
    if changes.get("prior_in_person"):
        changes.setdefault("in_person", IN_PERSON)
    if changes.get("visit") is Visit.FOLLOW_UP:
        changes.setdefault("follows", EARLIER)
    base = Consultation(id="cons-1", mode=Mode.VIDEO, visit=Visit.FIRST, started_by=Initiator.PATIENT,
                        started_at=ISSUED)
    return dataclasses.replace(base, **changes)


def medicine(name: str = "Paracetamol", **changes) -> Medicine:
    base = Medicine(generic_name=name, strength="500 mg", form="tablet", dose="1 tablet", frequency="TDS",
                    duration_days=3, route="oral", instructions="after food", quantity=9)
    return dataclasses.replace(base, **changes)


def prescription(**changes) -> Prescription:
    base = Prescription(
        id="7K3M-9QXD-4TBZ", version=1, issued_at=ISSUED, consultation=consultation(), doctor=doctor(),
        patient=patient(), diagnosis="Acute viral fever", provisional=True,
        chief_complaints="Fever for 2 days, body ache", history="No known drug allergies",
        findings="Temperature 38.6 °C on home thermometer", investigations="CBC if fever persists beyond 3 days",
        medicines=(medicine(),), advice="Plenty of fluids and rest", follow_up=date(2026, 11, 29),
    )
    return dataclasses.replace(base, **changes)


def consent() -> Consent:
    return Consent(given_by="Sita Devi (patient)", recorded_at=ISSUED, method="verbal, on video")


#: Everyday OPD lines within their dose limits, for tests that need many medicines on one prescription.
EVERYDAY_LINES = (
    ("Paracetamol", "500 mg", "TDS", 3), ("Cetirizine", "10 mg", "HS", 5), ("Amlodipine", "5 mg", "OD", 30),
    ("Metformin", "500 mg", "BD", 30), ("Pantoprazole", "40 mg", "OD", 14), ("Atenolol", "50 mg", "OD", 30),
    ("Folic acid", "5 mg", "OD", 30), ("Calcium carbonate", "500 mg", "BD", 30), ("Omeprazole", "20 mg", "OD", 14),
    ("Ibuprofen", "400 mg", "TDS", 3), ("Enalapril", "5 mg", "OD", 30), ("Glibenclamide", "5 mg", "OD", 30),
    ("Ondansetron", "4 mg", "TDS", 2),
)


def everyday_medicines(n: int, **changes) -> tuple:
    """The first `n` of EVERYDAY_LINES as medicine lines."""
    return tuple(medicine(name, strength=strength, frequency=frequency, duration_days=days, **changes)
                 for name, strength, frequency, days in EVERYDAY_LINES[:n])
