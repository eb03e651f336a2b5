"""Adding staff (doctors, health workers, pharmacists) and OPDs (what `vaidya admin` does): each record checked first, written in one
transaction with its audit entry, so a bad argument changes nothing. No argparse and no aiohttp here."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import pharmacists, security
from . import storage as st
from .accounts import normalize_mobile
from .councils import placeholder, registration_problem
from .errors import Invalid
from .i18n import LANGUAGES
from .models import Doctor, HealthWorker, Opd, OpdKind
from .pharmacists import Pharmacist
from .validate import name_problem, text_problem

ACTOR = "admin:cli"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
_OPD_CODE = re.compile(r"^[A-Z]{2,6}$")
_LICENCE = re.compile(r"^(?=(?:\D*\d){3})[A-Za-z0-9][A-Za-z0-9 ./-]{2,29}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class AdminError(ValueError):
    """A bad argument, said in words an administrator can act on."""


@dataclass(frozen=True)
class NewOpd:
    code: str
    name: str
    speciality: str = ""
    hub: bool = False
    opens: str = "00:00"
    closes: str = "23:59"
    capacity: int = 200
    consult_limit_min: int = 15


def _required(value: str, what: str, policy: Callable[[str], str | None] = text_problem) -> str:
    value = " ".join(value.split())
    if not value:
        raise AdminError(f"{what} is required")
    if len(value) > 120:
        raise AdminError(f"{what} is too long (at most 120 characters)")
    if problem := policy(value):
        raise AdminError(f"{what}: {problem}")
    return value


def _username(conn: sqlite3.Connection, username: str) -> str:
    if not _USERNAME.match(username):
        raise AdminError("a user name is 3-40 characters: lower-case letters, digits, '.', '_' or '-'")
    taken = conn.execute(
        "SELECT 1 FROM doctors WHERE username = ? UNION SELECT 1 FROM health_workers WHERE username = ?"
        " UNION SELECT 1 FROM pharmacists WHERE username = ?",
        (username, username, username),
    ).fetchone()
    if taken:
        raise AdminError(f"the user name {username!r} is taken")
    return username


def _password_hash(password: str) -> str:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise AdminError(f"a password needs at least {security.MIN_PASSWORD_LENGTH} characters")
    return security.hash_password(password)


def _mobile(raw: str) -> str:
    if not raw:
        return ""
    try:
        return normalize_mobile(raw)
    except Invalid:
        raise AdminError(f"{raw!r} is not a 10-digit Indian mobile number") from None


def _languages(codes: list[str]) -> list[str]:
    unknown = [c for c in codes if c not in LANGUAGES]
    if unknown or not codes:
        raise AdminError(f"languages must be some of {', '.join(LANGUAGES)} (got {', '.join(codes) or 'none'})")
    return codes


def _opds(conn: sqlite3.Connection, codes: list[str]) -> list[Opd]:
    found = []
    for code in codes:
        opd = st.find_opd(conn, code.upper())
        if opd is None:
            raise AdminError(f"no OPD with code {code!r} (add it first with `vaidya admin add-opd`)")
        found.append(opd)
    return found


def add_opd(conn: sqlite3.Connection, new: NewOpd) -> Opd:
    code = new.code.upper()
    if not _OPD_CODE.match(code):
        raise AdminError("an OPD code is 2-6 letters (it starts every token number, e.g. GEN-014)")
    if st.find_opd(conn, code) is not None:
        raise AdminError(f"the OPD code {code!r} is taken")
    if not (_HHMM.match(new.opens) and _HHMM.match(new.closes)) or new.opens >= new.closes:
        raise AdminError("opening hours are HH:MM, and the OPD must open before it closes")
    if not 1 <= new.capacity <= 100_000:
        raise AdminError("capacity is the number of tokens a day, from 1 to 100000")
    if not 1 <= new.consult_limit_min <= 240:
        raise AdminError("the consultation time limit is in minutes, from 1 to 240")
    if new.hub and not new.speciality:
        raise AdminError("a hub OPD takes referrals for a speciality: give --speciality")
    opd = st.add_opd(
        conn, code=code, name=_required(new.name, "the OPD name"),
        kind=OpdKind.SPECIALITY if new.speciality else OpdKind.GENERAL, speciality=new.speciality.strip(),
        opens=new.opens, closes=new.closes, capacity=new.capacity, consult_limit_min=new.consult_limit_min,
        is_hub=new.hub,
    )
    st.audit(conn, ACTOR, "add-opd", f"opd:{opd.id}")
    return opd


def add_doctor(
    conn: sqlite3.Connection, *, username: str, password: str, name: str, qualification: str,
    registration_number: str, council: str, languages: list[str], specialities: list[str], opd_codes: list[str],
    mobile: str = "",
) -> Doctor:
    """A doctor who can log in and serve the given OPDs; the registration number is printed on prescriptions."""
    username = _username(conn, username)
    opds = _opds(conn, opd_codes)
    registration_number = _required(registration_number, "the registration number")
    council = _required(council, "the medical council")
    problem = registration_problem(registration_number, council)
    if problem:
        raise AdminError(problem)
    doctor = st.add_doctor(
        conn, username=username, name=_required(name, "the doctor's name", name_problem),
        qualification=_required(qualification, "the qualification"),
        registration_number=registration_number, council=council, languages=_languages(languages),
        specialities=specialities, password_hash=_password_hash(password), mobile=_mobile(mobile),
    )
    for opd in opds:
        st.assign_doctor_to_opd(conn, doctor.id, opd.id)
    st.audit(conn, ACTOR, "add-doctor", doctor.identity)
    return doctor


def add_health_worker(
    conn: sqlite3.Connection, *, username: str, password: str, name: str, facility: str, mobile: str = ""
) -> HealthWorker:
    """A health worker at a spoke facility, who can refer the patient with them to a hub OPD."""
    hw = st.add_health_worker(
        conn, username=_username(conn, username), name=_required(name, "the health worker's name", name_problem),
        facility=_required(facility, "the facility"), password_hash=_password_hash(password),
        mobile=_mobile(mobile),
    )
    st.audit(conn, ACTOR, "add-health-worker", hw.identity)
    return hw


def add_pharmacist(
    conn: sqlite3.Connection, *, username: str, password: str, name: str, licence_number: str, pharmacy: str,
    mobile: str = "",
) -> Pharmacist:
    """A registered pharmacist, who may mark prescriptions dispensed at their pharmacy."""
    licence = _required(licence_number, "the pharmacist's licence number")
    if placeholder(licence.upper(), "".join(c for c in licence if c.isdigit())) or not _LICENCE.match(licence):
        raise AdminError(f"“{licence}” is a placeholder or malformed: give the registration number the State "
                         "Pharmacy Council issued (letters, digits, '/', '-' or spaces, at least 3 digits)")
    chemist = pharmacists.add_pharmacist(
        conn, username=_username(conn, username), name=_required(name, "the pharmacist's name", name_problem),
        licence_number=licence, pharmacy=_required(pharmacy, "the pharmacy"), password_hash=_password_hash(password),
        mobile=_mobile(mobile),
    )
    st.audit(conn, ACTOR, "add-pharmacist", chemist.identity)
    return chemist


def overview(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every OPD, doctor (with their OPD codes), health worker and pharmacist, without password hashes."""
    return {
        "opds": [o.public() for o in st.list_opds(conn)],
        "doctors": [
            {**d.public(), "username": d.username, "active": d.active,
             "opds": [o.code for o in st.opds_of_doctor(conn, d.id)]}
            for d in st.list_doctors(conn)
        ],
        "health_workers": [
            {**h.public(), "username": h.username, "active": h.active} for h in st.list_health_workers(conn)
        ],
        "pharmacists": [
            {**p.public(), "username": p.username, "active": p.active} for p in pharmacists.list_pharmacists(conn)
        ],
    }
