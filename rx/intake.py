"""The doctor's form (JSON) → a Prescription: shape and type checks only; TPG rules come after, in rules.

Separate shapes for input and stored record: the request can only set clinical fields and the doctor's
confirmations; who the doctor, patient and consultation are comes from the portal's records.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from .model import (
    Consultation,
    DoctorSnapshot,
    EarlierConsult,
    InPersonVisit,
    Medicine,
    PatientSnapshot,
    Prescription,
    Visit,
)

TEXT_FIELDS = ("chief_complaints", "history", "findings", "investigations", "diagnosis", "advice")
MAX_TEXT = 4000
MAX_MEDICINES = 30
MAX_QUANTITY = 10_000
MAX_REPEATS = 12


class InputError(ValueError):
    """The form is malformed; `fields` maps each bad field to a message."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


def _text(data: dict[str, Any], name: str, errors: dict[str, str], limit: int = MAX_TEXT) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "must be text"
        return ""
    if len(value) > limit:
        errors[name] = f"at most {limit} characters"
    return value.strip()


def _day(data: dict[str, Any], name: str, errors: dict[str, str]) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[name] = "a date as YYYY-MM-DD"
        return None


def _medicine(item: Any, n: int, errors: dict[str, str]) -> Medicine | None:
    key = f"medicines[{n}]"
    if not isinstance(item, dict):
        errors[key] = "must be an object"
        return None
    texts = {name: _text(item, name, errors, 200) for name in
             ("generic_name", "strength", "form", "dose", "frequency", "route", "instructions")}
    duration = _count(item, "duration_days", 3650, key, "a whole number of days", errors)
    return Medicine(
        generic_name=texts["generic_name"], strength=texts["strength"], form=texts["form"], dose=texts["dose"],
        frequency=texts["frequency"].upper(), duration_days=duration, route=texts["route"].lower() or "oral",
        instructions=texts["instructions"], free_text=item.get("free_text") is True,
        free_text_confirmed=item.get("free_text_confirmed") is True, refill=item.get("refill") is True,
        warning_acknowledged=item.get("warning_acknowledged") is True,
        quantity=_count(item, "quantity", MAX_QUANTITY, key, "a whole number of units to dispense", errors),
        repeats=_count(item, "repeats", MAX_REPEATS, key, f"a whole number of repeats, at most {MAX_REPEATS}", errors),
        add_on_to=_text(item, "add_on_to", errors, 200),
    )


def _count(item: dict[str, Any], name: str, top: int, key: str, words: str, errors: dict[str, str]) -> int:
    """A whole number from 0 to `top` (missing is 0; the rules ask for what must be set)."""
    value = item.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        errors[f"{key}.{name}"] = words
        return 0
    return value


def in_person_visit(data: dict[str, Any]) -> InPersonVisit | None:
    """The doctor's declaration of an earlier in-person consultation: {"date", "place", "treatment": [...]}."""
    value = data.get("in_person")
    if value in (None, "", {}):
        return None
    errors: dict[str, str] = {}
    if not isinstance(value, dict):
        raise InputError({"in_person": "an object with date, place and treatment"})
    day = _day(value, "date", errors)
    place = _text(value, "place", errors, 200)
    treatment = value.get("treatment", [])
    if isinstance(treatment, str):
        treatment = [t for t in treatment.split(",")]
    if not isinstance(treatment, list) or not all(isinstance(t, str) and len(t) <= 200 for t in treatment):
        errors["in_person.treatment"] = "a list of the drugs started there"
        treatment = []
    if day is None:
        errors["in_person.date"] = "the date of the in-person consultation, YYYY-MM-DD"
    if errors:
        raise InputError(errors)
    assert day is not None
    return InPersonVisit(on=day, place=place, treatment=tuple(t.strip() for t in treatment if t.strip()))


def clinical_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The clinical fields of a form (for a new prescription or a correction), checked for shape."""
    if not isinstance(data, dict):
        raise InputError({"body": "expected a JSON object"})
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {name: _text(data, name, errors) for name in TEXT_FIELDS if name in data}
    if "provisional" in data:
        changes["provisional"] = data["provisional"] is True
    if "follow_up" in data:
        changes["follow_up"] = _day(data, "follow_up", errors)
    if "medicines" in data:
        items = data["medicines"]
        if not isinstance(items, list) or len(items) > MAX_MEDICINES:
            errors["medicines"] = f"a list of at most {MAX_MEDICINES} medicines"
        else:
            changes["medicines"] = tuple(m for n, item in enumerate(items) if (m := _medicine(item, n, errors)))
    if errors:
        raise InputError(errors)
    return changes


def patient_confirmations(data: dict[str, Any], patient: PatientSnapshot) -> PatientSnapshot:
    """What the doctor confirms or measures at the consultation: age, weight, height, LMP, the adult present."""
    errors: dict[str, str] = {}
    confirmed = data.get("age_confirmed") is True
    weight, height = _text(data, "weight_kg", errors, 10), _text(data, "height_cm", errors, 10)
    lmp = _day(data, "lmp", errors)
    adult = _text(data, "accompanying_adult", errors, 200)
    age = data.get("age_years", patient.age_years)
    if age is not None and (not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 130):
        errors["age_years"] = "a whole number of years"
        age = patient.age_years
    if errors:
        raise InputError(errors)
    return dataclasses.replace(patient, age_years=age, age_confirmed=confirmed, weight_kg=weight, height_cm=height,
                               lmp=lmp, accompanying_adult=adult)


def build_prescription(data: dict[str, Any], rx_id: str, now: datetime, doctor: DoctorSnapshot,
                       patient: PatientSnapshot, consultation: Consultation,
                       follows: EarlierConsult | None = None) -> Prescription:
    """A version-1 prescription from the form and the portal's records (not yet checked or signed).

    It is a follow-up only with a basis: `follows` (the earlier consultation the doctor linked, already checked
    against the record by rx.portal_link) or an in-person consultation declared on the form. A bare
    "prior_in_person" flag, or what the patient ticked when booking, counts for nothing (rx.followup).
    """
    changes = clinical_changes(data)
    in_person = in_person_visit(data)
    consultation = dataclasses.replace(
        consultation, follows=follows, in_person=in_person, prior_in_person=in_person is not None,
        visit=Visit.FOLLOW_UP if follows is not None or in_person is not None else Visit.FIRST)
    return Prescription(id=rx_id, version=1, issued_at=now, consultation=consultation, doctor=doctor,
                        patient=patient_confirmations(data, patient), diagnosis=changes.pop("diagnosis", ""),
                        **changes)


MEDICINE_FIELDS = ("generic_name", "strength", "form", "dose", "frequency", "duration_days", "route",
                   "instructions", "quantity", "repeats", "add_on_to")
_COUNTS = ("duration_days", "quantity", "repeats")
FORM_ROWS = 6


def body_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The HTML form (flat fields, medicine rows m0_…, m1_…) as the JSON body the API takes."""
    body: dict[str, Any] = {name: form.get(name, "") for name in
                            (*TEXT_FIELDS, "weight_kg", "height_cm", "lmp", "accompanying_adult", "follow_up")}
    for flag in ("age_confirmed", "provisional"):
        body[flag] = form.get(flag) == "yes"
    if form.get("in_person_date", "").strip() or form.get("in_person_place", "").strip():
        body["in_person"] = {"date": form.get("in_person_date", "").strip(), "place": form.get("in_person_place", ""),
                             "treatment": form.get("in_person_treatment", "")}
    if form.get("follows_consultation", "").strip():
        body["follows_consultation"] = form["follows_consultation"].strip()
    medicines = []
    for row in range(FORM_ROWS):
        item: dict[str, Any] = {name: form.get(f"m{row}_{name}", "").strip() for name in MEDICINE_FIELDS}
        if not item["generic_name"]:
            continue
        for name in _COUNTS:  # blank or not a number: 0, and the rules then ask for it by name
            text = item[name]
            item[name] = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0
        item["free_text"] = form.get(f"m{row}_free_text") == "yes"
        item["free_text_confirmed"] = form.get(f"m{row}_free_text_confirmed") == "yes"
        item["refill"] = form.get(f"m{row}_refill") == "yes"
        item["warning_acknowledged"] = form.get(f"m{row}_warning_acknowledged") == "yes"
        medicines.append(item)
    body["medicines"] = medicines
    return body


def form_from_prescription(rx: Prescription) -> dict[str, str]:
    """The HTML form filled in from a signed version, for the doctor to correct (inverse of body_from_form)."""
    form = {name: getattr(rx, name) for name in TEXT_FIELDS}
    form.update(provisional="yes" if rx.provisional else "", follow_up=rx.follow_up.isoformat() if rx.follow_up else "")
    for row, m in enumerate(rx.medicines[:FORM_ROWS]):
        for name in MEDICINE_FIELDS:
            form[f"m{row}_{name}"] = str(getattr(m, name))
        form[f"m{row}_free_text"] = "yes" if m.free_text else ""
        form[f"m{row}_free_text_confirmed"] = "yes" if m.free_text_confirmed else ""
        form[f"m{row}_refill"] = "yes" if m.refill else ""
        form[f"m{row}_warning_acknowledged"] = "yes" if m.warning_acknowledged else ""
    return form
