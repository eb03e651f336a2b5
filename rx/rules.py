"""TPG 2020 checks run when the doctor signs: pure functions returning problems a doctor understands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo

from portal.councils import registration_problem

from . import followup
from .dosage import FREQUENCIES, ROUTES
from .formulary import Drug, Formulary, TpgList
from .line_sanity import ADULT_AGE, controlled_refusal, line_findings
from .localtime import DEFAULT_ZONE, local_date, local_stamp
from .model import Consultation, Initiator, Medicine, Mode, Prescription, Visit


@dataclass(frozen=True)
class Problem:
    """One reason a prescription cannot be signed. `field` points the form at the offending input."""

    code: str
    field: str
    message: str


class RuleViolation(ValueError):
    """The prescription breaks TPG rules; nothing was signed or stored."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in problems))


def allowed_lists(consultation: Consultation) -> frozenset[TpgList]:
    """The TPG matrix: which drug lists this consultation may prescribe from at all.

    At a follow-up by audio or text, List A is open to refills only (`list_a_allowed` decides per line).
    """
    if consultation.visit is Visit.FIRST:
        if consultation.mode is Mode.VIDEO:
            return frozenset({TpgList.O, TpgList.A})
        return frozenset({TpgList.O})
    allowed = {TpgList.O, TpgList.A}
    if consultation.in_person is not None:  # List B: add-ons to treatment started in person (rx.followup)
        allowed.add(TpgList.B)
    return frozenset(allowed)


def describe_allowed(consultation: Consultation) -> str:
    """The lists open to this consultation, in words for the doctor's form (e.g. "O, A (refills only)")."""
    open_lists = allowed_lists(consultation)
    words = []
    for tag in TpgList:
        if tag in open_lists:
            refills_only = tag is TpgList.A and consultation.visit is Visit.FOLLOW_UP and consultation.mode is not Mode.VIDEO
            words.append(f"{tag.value} (refills only)" if refills_only else tag.value)
    basis = followup.describe_basis(consultation)
    return ", ".join(words) + (f" — {basis}" if basis else "")


def list_a_allowed(consultation: Consultation, medicine: Medicine) -> bool:
    """List A: a first consultation by video; at a follow-up, a refill, or anything when seen on video."""
    return list_a_allowed_for(consultation, medicine.refill)


def list_a_allowed_for(consultation: Consultation, refill: bool) -> bool:
    if consultation.visit is Visit.FIRST:
        return consultation.mode is Mode.VIDEO
    return consultation.mode is Mode.VIDEO or refill


def effective_list(medicine: Medicine, formulary: Formulary) -> tuple[TpgList, Drug | None]:
    """The list a medicine line is judged by. Free text naming no formulary drug counts as List B:
    the most restrictive list that can be prescribed at all, never silently List O."""
    name, form = medicine.generic_name, medicine.form
    drug = formulary.mentioned_in(name, form) if medicine.free_text else formulary.lookup(name, form)
    if drug is not None:
        return drug.tpg_list, drug
    return TpgList.B, None


def list_refusal(tag: TpgList, consultation: Consultation, refill: bool = False) -> str | None:
    """Why a drug on list `tag` cannot be prescribed at this consultation (TPG 2020 §3.5, Annexure 1), in
    the doctor's words; None when it can (List B still needs the in-person treatment it is added to)."""
    if tag is TpgList.PROHIBITED:
        return "it can never be prescribed by telemedicine"
    if tag in allowed_lists(consultation) and (tag is not TpgList.A or list_a_allowed_for(consultation, refill)):
        return None
    if tag is TpgList.A and consultation.visit is Visit.FIRST:
        return f"a first consultation must be by video ({_mode_phrase(consultation)})"
    if tag is TpgList.A:
        return (f"at a follow-up by {consultation.mode.value} it can only be a refill of a medicine the "
                "patient already takes: mark it as a refill, or see the patient by video")
    if consultation.visit is Visit.FIRST:
        return ("it can only be added at a follow-up, to treatment started in an in-person consultation "
                f"({_mode_phrase(consultation)})")
    return ("it can only be added to treatment started at an in-person consultation for this condition, "
            "and no earlier in-person consultation is declared: declare its date, place and treatment, "
            "or see the patient in person")


def _mode_phrase(c: Consultation) -> str:
    visit = "first consultation" if c.visit is Visit.FIRST else "follow-up"
    return f"this is a {visit} by {c.mode.value}"


def check_medicine(medicine: Medicine, consultation: Consultation, formulary: Formulary) -> list[Problem]:
    """Problems with one medicine line: the TPG list for this consultation, then completeness."""
    name = medicine.generic_name.strip()
    field = f"medicine:{name}"
    problems: list[Problem] = []
    if not name:
        return [Problem("medicine_name", "medicine", "A medicine line has no drug name.")]
    refusal = controlled_refusal(medicine, formulary)  # NDPS / Schedule X by any spelling, in every mode
    if refusal is not None:
        return [Problem("prohibited", field, refusal)]
    tag, drug = effective_list(medicine, formulary)
    shown = drug.generic_name if drug else f"“{name}”"
    if drug is None and not medicine.free_text:
        problems.append(Problem("not_in_formulary", field,
            f"{name} is not in the formulary: pick a formulary drug, or write it as free text and confirm it."))
    elif drug is None and not medicine.free_text_confirmed:
        problems.append(Problem("free_text_unconfirmed", field,
            f"“{name}” is not in the formulary: confirm that you mean to prescribe it as free text "
            "(it will be treated as List B)."))
    refusal = list_refusal(tag, consultation, medicine.refill)
    if tag is TpgList.PROHIBITED:
        basis = drug.basis.split(":")[0] if drug else "prohibited"
        problems.append(Problem("prohibited", field, f"{shown} is prohibited in teleconsultation ({basis}): {refusal}."))
    elif refusal is not None:
        prefix = f"{shown} is on List {tag.value}" if drug else f"{shown} is not in the formulary, so it is treated as List B"
        problems.append(Problem(f"list_{tag.value.lower()}_not_allowed", field, f"{prefix}: {refusal}."))
    elif tag is TpgList.B and (drug is not None or medicine.free_text_confirmed):
        add_on = followup.list_b_finding(medicine, shown, field, consultation,
                                         lambda written, started: _same_drug(written, started, formulary))
        if add_on:
            problems.append(Problem(*add_on))
    if not medicine.strength.strip() or not medicine.form.strip() or not medicine.dose.strip():
        problems.append(Problem("medicine_incomplete", field, f"{shown}: give strength, form and dose."))
    if medicine.frequency not in FREQUENCIES:
        problems.append(Problem("frequency", field,
            f"{shown}: frequency {medicine.frequency!r} is not one of {', '.join(FREQUENCIES)}."))
    if medicine.duration_days < 1:
        problems.append(Problem("duration", field, f"{shown}: give the duration in days."))
    if medicine.quantity < 1 or medicine.repeats < 0:
        problems.append(Problem("quantity", field,
            f"{shown}: give the quantity to dispense (in {medicine.form.strip() or 'units'}, e.g. 10), "
            "and repeats of 0 or more."))
    if medicine.route not in ROUTES:
        problems.append(Problem("route", field, f"{shown}: route {medicine.route!r} is not one of {', '.join(ROUTES)}."))
    return problems


def _same_drug(written: str, started: str, formulary: Formulary) -> bool:
    """Whether the drug a List B line names is one the in-person treatment lists (formulary names and
    aliases, else the words themselves)."""
    a = formulary.lookup(written) or formulary.mentioned_in(written)
    b = formulary.lookup(started) or formulary.mentioned_in(started)
    if a is not None and b is not None:
        return a.generic_name == b.generic_name
    words = set(re.findall(r"[^\W\d_]{3,}", written.casefold()))
    return bool(words) and words <= set(re.findall(r"[^\W\d_]{3,}", started.casefold()))


def check(rx: Prescription, formulary: Formulary, zone: tzinfo = DEFAULT_ZONE) -> list[Problem]:
    """Every TPG problem with this prescription; an empty list means it may be signed.

    Dates are compared in the clinic's zone (`zone`): the prescription's day (for the follow-up window and
    the follow-up date) is the local one."""
    problems: list[Problem] = []
    d, p, c = rx.doctor, rx.patient, rx.consultation
    if not d.registration_number.strip() or not d.council.strip():
        problems.append(Problem("registration", "doctor",
            "Your registration number and council (State Medical Council or NMC) must appear on every "
            "prescription: add them to your profile before signing."))
    elif (registration := registration_problem(d.registration_number, d.council)) is not None:
        problems.append(Problem("registration_format", "doctor", registration))
    if not d.name.strip() or not d.qualification.strip():
        problems.append(Problem("doctor_identity", "doctor", "Your name and qualification must appear on the prescription."))
    if not rx.diagnosis.strip():
        problems.append(Problem("diagnosis", "diagnosis",
            "Write a diagnosis or provisional diagnosis: TPG allows no prescription without one."))
    if not p.name.strip():
        problems.append(Problem("patient_name", "patient", "The patient's name is missing."))
    if p.age_years is None or not p.age_confirmed:
        problems.append(Problem("age", "patient", "Confirm the patient's age before signing."))
    elif p.age_years < ADULT_AGE and not p.accompanying_adult.strip():
        problems.append(Problem("minor_adult", "patient",
            f"The patient is a minor ({p.age_years} years): record the identified adult present at the consultation."))
    if c.started_by is not Initiator.PATIENT:
        consent = c.consent
        if consent is None or not consent.given_by.strip() or not consent.method.strip():
            who = c.started_by.value.replace("_", " ")
            problems.append(Problem("consent", "consultation",
                f"This consultation was started by the {who}: record the patient's explicit consent "
                "(who gave it, when and how) before signing."))
        elif consent.recorded_at > rx.issued_at:
            problems.append(Problem("consent_time", "consultation",
                f"The consent is recorded at {local_stamp(consent.recorded_at, zone)}, after the prescription "
                f"({local_stamp(rx.issued_at, zone)}): consent comes before the prescription; correct its time."))
    today = local_date(rx.issued_at, zone)
    problems.extend(Problem(*found) for found in followup.basis_findings(c, today))
    for medicine in rx.medicines:
        problems.extend(check_medicine(medicine, c, formulary))
    problems.extend(Problem(f.code, f.field, f.message) for f in line_findings(rx, formulary))
    if rx.follow_up is not None and rx.follow_up < today:
        problems.append(Problem("follow_up", "follow_up", "The follow-up date is before the prescription date."))
    return problems
