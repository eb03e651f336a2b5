"""A complete sample prescription for `vaidya rx demo`: a seeded doctor, patient and consultation."""

from __future__ import annotations

from datetime import timedelta

from .localtime import local_date
from .model import (
    Consent,
    Consultation,
    DoctorSnapshot,
    InPersonVisit,
    Initiator,
    Medicine,
    Mode,
    PatientSnapshot,
    Prescription,
    Sex,
    Visit,
    new_prescription_id,
)
from .service import utc_now

#: A patient name written in each language's script, so the preview shows the script in use.
SAMPLE_NAMES = {
    "en": "Sita Devi", "hi": "सीता देवी", "bn": "সীতা দেবী", "mr": "सीता पाटील", "te": "సీత దేవి",
    "ta": "சீதா தேவி", "gu": "સીતા પટેલ", "ur": "عائشہ بیگم", "kn": "ಸೀತಾ ದೇವಿ", "or": "ସୀତା ଦେବୀ",
    "ml": "സീത ദേവി",
}


def sample_prescription(lang: str) -> Prescription:
    """A follow-up by video, started by a health worker with recorded consent, with O, A and B drugs: the
    thiazide is an add-on to the atenolol started at a declared in-person consultation 75 days before."""
    now = utc_now()
    return Prescription(
        id=new_prescription_id(), version=1, issued_at=now,
        consultation=Consultation(
            id="demo-consultation-1", mode=Mode.VIDEO, visit=Visit.FOLLOW_UP, started_by=Initiator.HEALTH_WORKER,
            consent=Consent("patient, in the presence of the health worker", now - timedelta(minutes=12),
                            "verbal, on video, recorded by the health worker"),
            prior_in_person=True, started_at=now - timedelta(minutes=12),
            in_person=InPersonVisit(on=local_date(now - timedelta(days=75)), place="District Hospital, Tumakuru",
                                    treatment=("Atenolol 50 mg OD",)),
        ),
        doctor=DoctorSnapshot(
            id="demo-doctor-1", name="Dr. Asha Rao", qualification="MBBS, MD (General Medicine)",
            registration_number="KMC-48213", council="Karnataka Medical Council", contact="+91 80 4000 1234",
            facility="District Hospital Teleconsultation Hub, Tumakuru",
        ),
        patient=PatientSnapshot(
            id="demo-patient-1", name=SAMPLE_NAMES.get(lang, SAMPLE_NAMES["en"]), age_years=58, age_confirmed=True,
            sex=Sex.FEMALE, language=lang, weight_kg="64", height_cm="152", phone="+919800000001",
        ),
        chief_complaints="Headache in the mornings for 2 weeks; blood pressure readings 150-160/95 at the health centre",
        history="Hypertension for 3 years on atenolol 50 mg, started in person at the district hospital. "
                "No diabetes. No known drug allergies.",
        findings="BP 156/96 mmHg (health worker, automated cuff, two readings). Pulse 72/min regular. No ankle oedema.",
        investigations="Serum creatinine and electrolytes; urine routine",
        diagnosis="Essential hypertension, not controlled on monotherapy",
        provisional=False,
        medicines=(
            Medicine("Atenolol", "50 mg", "tablet", "1 tablet", "OD", 30, "oral", "in the morning", refill=True,
                     quantity=30, repeats=2),
            Medicine("Hydrochlorothiazide", "12.5 mg", "tablet", "1 tablet", "OD", 30, "oral",
                     "in the morning, after food", quantity=30, add_on_to="Atenolol"),
            Medicine("Paracetamol", "500 mg", "tablet", "1 tablet", "SOS", 5, "oral",
                     "for headache, at most 3 a day, after food", quantity=10),
        ),
        advice="Less salt in food; walk 30 minutes a day; check BP at the health centre every week.",
        follow_up=local_date(now + timedelta(days=14)),
    )
