"""Patient registration: the form's fields checked with a clear message each, then one new Patient.

Used by the patient's own form (the mobile number comes from the OTP session) and by a health worker
registering the patient who sits with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import clinic_time
from . import storage as st
from .db import Database
from .errors import Invalid
from .i18n import LANGUAGES, N_
from .models import Patient, Sex
from .validate import name_problem, text_problem

MAX_AGE = 120
MAX_TEXT = 80


@dataclass(frozen=True)
class PatientForm:
    name: str
    sex: Sex
    state: str
    district: str
    language: str
    age_years: int | None
    birth_date: dt.date | None


def _text(data: Mapping[str, str], name: str, errors: dict[str, str], message: str,
          policy: Callable[[str], str | None] = text_problem) -> str:
    value = " ".join((data.get(name) or "").split())
    if not value:
        errors[name] = message
    elif len(value) > MAX_TEXT:
        errors[name] = N_("This is too long.")
    elif problem := policy(value):
        errors[name] = problem
    return value


def parse_patient_form(data: Mapping[str, str], today: dt.date | None = None) -> PatientForm:
    """Check every field; raise Invalid naming each bad field, or return the clean form."""
    today = today or clinic_time.today()
    errors: dict[str, str] = {}
    name = _text(data, "name", errors, N_("Enter the patient's name."), name_problem)
    state = _text(data, "state", errors, N_("Enter the state."))
    district = _text(data, "district", errors, N_("Enter the district."))
    try:
        sex = Sex(data.get("sex") or "")
    except ValueError:
        sex = Sex.OTHER
        errors["sex"] = N_("Choose female, male or other.")
    language = data.get("language") or ""
    if language not in LANGUAGES:
        errors["language"] = N_("Choose a language.")

    age_years: int | None = None
    birth_date: dt.date | None = None
    raw_age = (data.get("age") or "").strip()
    raw_birth = (data.get("birth_date") or "").strip()
    if raw_birth:
        try:
            birth_date = dt.date.fromisoformat(raw_birth)
        except ValueError:
            errors["birth_date"] = N_("Enter the date of birth as year-month-day.")
        else:
            if birth_date > today or today.year - birth_date.year > MAX_AGE:
                errors["birth_date"] = N_("This date of birth is not possible.")
    elif raw_age:
        # decimal digits of any script (a Hindi keyboard types ३४), never '²' (a digit int() refuses)
        if not raw_age.isdecimal() or len(raw_age) > 3 or not (0 <= int(raw_age) <= MAX_AGE):
            errors["age"] = N_("Enter the age in years, from 0 to 120.")
        else:
            age_years = int(raw_age)
    else:
        errors["age"] = N_("Enter the age or the date of birth.")
    if errors:
        raise Invalid(errors)
    return PatientForm(name, sex, state, district, language, age_years, birth_date)


async def register_patient(db: Database, mobile: str, form: PatientForm) -> Patient:
    """A new Patient ID under this mobile number (family members share one number)."""
    return await db.run(
        lambda conn: st.add_patient(
            conn,
            mobile=mobile,
            name=form.name,
            sex=form.sex,
            state=form.state,
            district=form.district,
            language=form.language,
            age_years=form.age_years,
            birth_date=form.birth_date,
        )
    )
