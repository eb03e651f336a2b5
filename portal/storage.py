"""Repository layer: plain functions over an SQLite connection, returning `portal.models` records.

Synchronous on purpose: a service composes several of them into one transaction with
`await db.run(lambda conn: ...)` (see `portal.db.Database`), so a multi-step change is all or nothing.
The admin CLI calls them directly on a connection from `portal.db.connect`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from .models import (
    LIVE_TOKEN_STATUSES,
    OPEN_CONSULT_STATUSES,
    AuditEntry,
    Consent,
    ConsentHow,
    Consultation,
    ConsultMode,
    ConsultStatus,
    Doctor,
    HealthWorker,
    Opd,
    OpdKind,
    Patient,
    Sex,
    StartedBy,
    Token,
    TokenStatus,
    Upload,
    Visit,
)

_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by hand


class NotFound(LookupError):
    """No record with that key."""


T = TypeVar("T")

def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def _join(items: Iterable[str]) -> str:
    return ",".join(sorted({i.strip() for i in items if i.strip()}))


# ---- patients ------------------------------------------------------------------------------------------


def _patient(row: sqlite3.Row) -> Patient:
    return Patient(
        id=row["id"],
        mobile=row["mobile"],
        name=row["name"],
        sex=Sex(row["sex"]),
        state=row["state"],
        district=row["district"],
        language=row["language"],
        age_years=row["age_years"],
        birth_date=dt.date.fromisoformat(row["birth_date"]) if row["birth_date"] else None,
        created_at=row["created_at"],
    )


def new_patient_id() -> str:
    chars = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    return f"VP-{chars[:4]}-{chars[4:]}"


def add_patient(
    conn: sqlite3.Connection,
    *,
    mobile: str,
    name: str,
    sex: Sex,
    state: str,
    district: str,
    language: str,
    age_years: int | None = None,
    birth_date: dt.date | None = None,
) -> Patient:
    while True:
        pid = new_patient_id()
        if conn.execute("SELECT 1 FROM patients WHERE id = ?", (pid,)).fetchone() is None:
            break
    conn.execute(
        "INSERT INTO patients (id, mobile, name, sex, age_years, birth_date, state, district, language, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pid, mobile, name, sex.value, age_years, birth_date.isoformat() if birth_date else None,
         state, district, language, time.time()),
    )
    return get_patient(conn, pid)

def _by_id(conn: sqlite3.Connection, table: str, row_id: object, read: Callable[[sqlite3.Row], T], what: str) -> T:
    """One row by primary key, as its record; NotFound naming `what` when there is none."""
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        raise NotFound(f"{what} {row_id}")
    return read(row)


def get_patient(conn: sqlite3.Connection, patient_id: str) -> Patient:
    return _by_id(conn, "patients", patient_id, _patient, "no patient")


def patients_for_mobile(conn: sqlite3.Connection, mobile: str) -> list[Patient]:
    rows = conn.execute("SELECT * FROM patients WHERE mobile = ? ORDER BY created_at", (mobile,))
    return [_patient(r) for r in rows]


# ---- doctors, health workers, OPDs ---------------------------------------------------------------------


def _doctor(row: sqlite3.Row) -> Doctor:
    return Doctor(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        qualification=row["qualification"],
        registration_number=row["registration_number"],
        council=row["council"],
        languages=_split(row["languages"]),
        specialities=_split(row["specialities"]),
        password_hash=row["password_hash"],
        mobile=row["mobile"],
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


def add_doctor(
    conn: sqlite3.Connection,
    *,
    username: str,
    name: str,
    qualification: str,
    registration_number: str,
    council: str,
    password_hash: str,
    languages: Iterable[str] = (),
    specialities: Iterable[str] = (),
    mobile: str = "",
) -> Doctor:
    cur = conn.execute(
        "INSERT INTO doctors (username, name, qualification, registration_number, council, languages,"
        " specialities, password_hash, mobile, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (username, name, qualification, registration_number, council, _join(languages), _join(specialities),
         password_hash, mobile, time.time()),
    )
    return get_doctor(conn, int(cur.lastrowid or 0))


def get_doctor(conn: sqlite3.Connection, doctor_id: int) -> Doctor:
    return _by_id(conn, "doctors", doctor_id, _doctor, "no doctor")


def find_doctor(conn: sqlite3.Connection, username: str) -> Doctor | None:
    row = conn.execute("SELECT * FROM doctors WHERE username = ? AND active = 1", (username,)).fetchone()
    return _doctor(row) if row else None


def list_doctors(conn: sqlite3.Connection) -> list[Doctor]:
    return [_doctor(r) for r in conn.execute("SELECT * FROM doctors ORDER BY id")]


def assign_doctor_to_opd(conn: sqlite3.Connection, doctor_id: int, opd_id: int) -> None:
    conn.execute("INSERT OR IGNORE INTO doctor_opds (doctor_id, opd_id) VALUES (?, ?)", (doctor_id, opd_id))


def doctors_of_opd(conn: sqlite3.Connection, opd_id: int) -> list[Doctor]:
    rows = conn.execute(
        "SELECT d.* FROM doctors d JOIN doctor_opds o ON o.doctor_id = d.id WHERE o.opd_id = ? AND d.active = 1"
        " ORDER BY d.id",
        (opd_id,),
    )
    return [_doctor(r) for r in rows]


def _health_worker(row: sqlite3.Row) -> HealthWorker:
    return HealthWorker(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        facility=row["facility"],
        password_hash=row["password_hash"],
        mobile=row["mobile"],
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


def add_health_worker(
    conn: sqlite3.Connection, *, username: str, name: str, facility: str, password_hash: str, mobile: str = ""
) -> HealthWorker:
    cur = conn.execute(
        "INSERT INTO health_workers (username, name, facility, password_hash, mobile, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (username, name, facility, password_hash, mobile, time.time()),
    )
    return get_health_worker(conn, int(cur.lastrowid or 0))


def get_health_worker(conn: sqlite3.Connection, hw_id: int) -> HealthWorker:
    return _by_id(conn, "health_workers", hw_id, _health_worker, "no health worker")


def find_health_worker(conn: sqlite3.Connection, username: str) -> HealthWorker | None:
    row = conn.execute("SELECT * FROM health_workers WHERE username = ? AND active = 1", (username,)).fetchone()
    return _health_worker(row) if row else None


def list_health_workers(conn: sqlite3.Connection) -> list[HealthWorker]:
    return [_health_worker(r) for r in conn.execute("SELECT * FROM health_workers ORDER BY id")]


def _opd(row: sqlite3.Row) -> Opd:
    return Opd(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=OpdKind(row["kind"]),
        speciality=row["speciality"],
        opens=row["opens"],
        closes=row["closes"],
        capacity=row["capacity"],
        consult_limit_min=row["consult_limit_min"],
        is_hub=bool(row["is_hub"]),
    )


def add_opd(
    conn: sqlite3.Connection,
    *,
    code: str,
    name: str,
    kind: OpdKind = OpdKind.GENERAL,
    speciality: str = "",
    opens: str = "00:00",
    closes: str = "23:59",
    capacity: int = 200,
    consult_limit_min: int = 15,
    is_hub: bool = False,
) -> Opd:
    cur = conn.execute(
        "INSERT INTO opds (code, name, kind, speciality, opens, closes, capacity, consult_limit_min, is_hub)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (code, name, kind.value, speciality, opens, closes, capacity, consult_limit_min, int(is_hub)),
    )
    return get_opd(conn, int(cur.lastrowid or 0))


def get_opd(conn: sqlite3.Connection, opd_id: int) -> Opd:
    return _by_id(conn, "opds", opd_id, _opd, "no OPD")


def find_opd(conn: sqlite3.Connection, code: str) -> Opd | None:
    row = conn.execute("SELECT * FROM opds WHERE code = ?", (code,)).fetchone()
    return _opd(row) if row else None


def list_opds(conn: sqlite3.Connection) -> list[Opd]:
    return [_opd(r) for r in conn.execute("SELECT * FROM opds ORDER BY id")]


def opds_of_doctor(conn: sqlite3.Connection, doctor_id: int) -> list[Opd]:
    rows = conn.execute(
        "SELECT o.* FROM opds o JOIN doctor_opds d ON d.opd_id = o.id WHERE d.doctor_id = ? ORDER BY o.id",
        (doctor_id,),
    )
    return [_opd(r) for r in rows]


# ---- tokens --------------------------------------------------------------------------------------------


def _consent(who: str | None, at: float | None, how: str | None) -> Consent | None:
    if who is None or at is None or how is None:
        return None
    return Consent(who=who, at=at, how=ConsentHow(how))


def _token(row: sqlite3.Row) -> Token:
    return Token(
        id=row["id"],
        number=row["number"],
        opd_id=row["opd_id"],
        patient_id=row["patient_id"],
        day=dt.date.fromisoformat(row["day"]),
        seq=row["seq"],
        language=row["language"],
        status=TokenStatus(row["status"]),
        visit=Visit(row["visit"]),
        want_doctor_id=row["want_doctor_id"],
        queued_at=row["queued_at"],
        missed_count=row["missed_count"],
        doctor_id=row["doctor_id"],
        consultation_id=row["consultation_id"],
        health_worker_id=row["health_worker_id"],
        consent=_consent(row["consent_who"], row["consent_at"], row["consent_how"]),
        login_secret_hash=row["login_secret_hash"],
        created_at=row["created_at"],
    )


def count_live_tokens(conn: sqlite3.Connection, opd_id: int, day: dt.date) -> int:
    marks = ",".join("?" for _ in LIVE_TOKEN_STATUSES)
    row = conn.execute(
        f"SELECT COUNT(*) FROM tokens WHERE opd_id = ? AND day = ? AND status IN ({marks})",
        (opd_id, day.isoformat(), *LIVE_TOKEN_STATUSES),
    ).fetchone()
    return int(row[0])


def add_token(
    conn: sqlite3.Connection,
    *,
    opd: Opd,
    patient_id: str,
    day: dt.date,
    language: str,
    status: TokenStatus = TokenStatus.BOOKED,
    visit: Visit = Visit.FIRST,
    want_doctor_id: int | None = None,
    queued_at: float | None = None,
    health_worker_id: int | None = None,
    consent: Consent | None = None,
    login_secret_hash: str = "",
) -> Token:
    """A token with the OPD's next daily sequence number (call inside a transaction)."""
    row = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM tokens WHERE opd_id = ? AND day = ?", (opd.id, day.isoformat())
    ).fetchone()
    seq = int(row[0])
    cur = conn.execute(
        "INSERT INTO tokens (number, opd_id, patient_id, day, seq, language, status, visit, want_doctor_id,"
        " queued_at, health_worker_id, consent_who, consent_at, consent_how, login_secret_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f"{opd.code}-{seq:03d}", opd.id, patient_id, day.isoformat(), seq, language, status.value, visit.value,
         want_doctor_id, queued_at, health_worker_id,
         consent.who if consent else None, consent.at if consent else None,
         consent.how.value if consent else None, login_secret_hash, time.time()),
    )
    return get_token(conn, int(cur.lastrowid or 0))


def get_token(conn: sqlite3.Connection, token_id: int) -> Token:
    return _by_id(conn, "tokens", token_id, _token, "no token")


def tokens_for_patients(conn: sqlite3.Connection, patient_ids: list[str]) -> list[Token]:
    if not patient_ids:
        return []
    marks = ",".join("?" for _ in patient_ids)
    rows = conn.execute(f"SELECT * FROM tokens WHERE patient_id IN ({marks}) ORDER BY id DESC", patient_ids)
    return [_token(r) for r in rows]


def consultations_brought_by(conn: sqlite3.Connection, hw_id: int) -> list[tuple[int, str]]:
    """(consultation id, patient id) of every consultation a health worker brought a patient to."""
    rows = conn.execute("SELECT id, patient_id FROM consultations WHERE health_worker_id = ? ORDER BY id", (hw_id,))
    return [(r["id"], r["patient_id"]) for r in rows]


def tokens_of_health_worker(conn: sqlite3.Connection, hw_id: int, day: dt.date) -> list[Token]:
    rows = conn.execute(
        "SELECT * FROM tokens WHERE health_worker_id = ? AND day = ? ORDER BY id DESC", (hw_id, day.isoformat())
    )
    return [_token(r) for r in rows]


def waiting_tokens(conn: sqlite3.Connection, opd_id: int) -> list[Token]:
    """The OPD's queue, first in line first."""
    rows = conn.execute(
        "SELECT * FROM tokens WHERE opd_id = ? AND status = ? ORDER BY queued_at, id",
        (opd_id, TokenStatus.WAITING.value),
    )
    return [_token(r) for r in rows]


def update_token(conn: sqlite3.Connection, token_id: int, **fields: object) -> Token:
    allowed = {"status", "queued_at", "missed_count", "doctor_id", "consultation_id", "want_doctor_id"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"cannot update token fields {sorted(bad)}")
    values = [v.value if isinstance(v, TokenStatus) else v for v in fields.values()]
    sets = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE tokens SET {sets} WHERE id = ?", (*values, token_id))
    return get_token(conn, token_id)


def expire_old_tokens(conn: sqlite3.Connection, today: dt.date) -> int:
    """Tokens of earlier days that never reached a doctor expire."""
    cur = conn.execute(
        "UPDATE tokens SET status = ? WHERE day < ? AND status IN (?, ?)",
        (TokenStatus.EXPIRED.value, today.isoformat(), TokenStatus.BOOKED.value, TokenStatus.WAITING.value),
    )
    return cur.rowcount


# ---- consultations -------------------------------------------------------------------------------------


def _consultation(row: sqlite3.Row) -> Consultation:
    consent = _consent(row["consent_who"], row["consent_at"], row["consent_how"])
    assert consent is not None  # NOT NULL columns
    return Consultation(
        id=row["id"],
        token_id=row["token_id"],
        patient_id=row["patient_id"],
        doctor_id=row["doctor_id"],
        opd_id=row["opd_id"],
        room=row["room"],
        mode=ConsultMode(row["mode"]),
        visit=Visit(row["visit"]),
        started_by=StartedBy(row["started_by"]),
        started_by_id=row["started_by_id"],
        consent=consent,
        status=ConsultStatus(row["status"]),
        health_worker_id=row["health_worker_id"],
        started_at=row["started_at"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        duration_s=row["duration_s"],
    )


def add_consultation(
    conn: sqlite3.Connection,
    *,
    token: Token,
    doctor_id: int,
    room: str,
    mode: ConsultMode,
    started_by: StartedBy,
    started_by_id: str,
    consent: Consent,
    started_at: float | None = None,
) -> Consultation:
    cur = conn.execute(
        "INSERT INTO consultations (token_id, patient_id, doctor_id, opd_id, room, mode, visit, started_by,"
        " started_by_id, health_worker_id, consent_who, consent_at, consent_how, status, started_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (token.id, token.patient_id, doctor_id, token.opd_id, room, mode.value, token.visit.value,
         started_by.value, started_by_id, token.health_worker_id, consent.who, consent.at, consent.how.value,
         ConsultStatus.ACTIVE.value, time.time() if started_at is None else started_at),
    )
    return get_consultation(conn, int(cur.lastrowid or 0))


def get_consultation(conn: sqlite3.Connection, consultation_id: int) -> Consultation:
    return _by_id(conn, "consultations", consultation_id, _consultation, "no consultation")


def open_consultations(conn: sqlite3.Connection, doctor_id: int) -> list[Consultation]:
    rows = conn.execute(
        "SELECT * FROM consultations WHERE doctor_id = ? AND status IN (?, ?) ORDER BY id",
        (doctor_id, *OPEN_CONSULT_STATUSES),
    )
    return [_consultation(r) for r in rows]


def consultations_of_patient(conn: sqlite3.Connection, patient_id: str) -> list[Consultation]:
    rows = conn.execute("SELECT * FROM consultations WHERE patient_id = ? ORDER BY id DESC", (patient_id,))
    return [_consultation(r) for r in rows]


def last_doctor_of_patient(conn: sqlite3.Connection, patient_id: str, opd_id: int) -> int | None:
    row = conn.execute(
        "SELECT doctor_id FROM consultations WHERE patient_id = ? AND opd_id = ? AND status = ?"
        " ORDER BY ended_at DESC LIMIT 1",
        (patient_id, opd_id, ConsultStatus.ENDED.value),
    ).fetchone()
    return int(row[0]) if row else None


def update_consultation(conn: sqlite3.Connection, consultation_id: int, **fields: object) -> Consultation:
    allowed = {"status", "answered_at", "ended_at", "duration_s", "mode"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"cannot update consultation fields {sorted(bad)}")
    values = [getattr(v, "value", v) for v in fields.values()]
    sets = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE consultations SET {sets} WHERE id = ?", (*values, consultation_id))
    return get_consultation(conn, consultation_id)


def recent_durations(conn: sqlite3.Connection, opd_id: int, limit: int = 20, doctor_id: int | None = None) -> list[float]:
    """Durations of the OPD's latest ended consultations (one doctor's only, with `doctor_id`), newest first."""
    mine = "" if doctor_id is None else " AND doctor_id = ?"
    rows = conn.execute(
        "SELECT duration_s FROM consultations WHERE opd_id = ? AND status = ? AND duration_s IS NOT NULL"
        f"{mine} ORDER BY ended_at DESC LIMIT ?",
        (opd_id, ConsultStatus.ENDED.value, *(() if doctor_id is None else (doctor_id,)), limit),
    )
    return [float(r[0]) for r in rows]


def active_consultations(conn: sqlite3.Connection, doctor_id: int) -> list[Consultation]:
    """The doctor's consultations in progress (called or answered, not on hold)."""
    rows = conn.execute("SELECT * FROM consultations WHERE doctor_id = ? AND status = ? ORDER BY id",
                        (doctor_id, ConsultStatus.ACTIVE.value))
    return [_consultation(r) for r in rows]


# ---- uploads -------------------------------------------------------------------------------------------


def _upload(row: sqlite3.Row) -> Upload:
    return Upload(
        id=row["id"],
        patient_id=row["patient_id"],
        token_id=row["token_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        stored_name=row["stored_name"],
        uploaded_by=row["uploaded_by"],
        created_at=row["created_at"],
    )


def add_upload(
    conn: sqlite3.Connection,
    *,
    patient_id: str,
    token_id: int | None,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    stored_name: str,
    uploaded_by: str,
) -> Upload:
    cur = conn.execute(
        "INSERT INTO uploads (patient_id, token_id, filename, content_type, size, sha256, stored_name,"
        " uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (patient_id, token_id, filename, content_type, size, sha256, stored_name, uploaded_by, time.time()),
    )
    return get_upload(conn, int(cur.lastrowid or 0))


def get_upload(conn: sqlite3.Connection, upload_id: int) -> Upload:
    return _by_id(conn, "uploads", upload_id, _upload, "no upload")


def uploads_of_patient(conn: sqlite3.Connection, patient_id: str) -> list[Upload]:
    rows = conn.execute("SELECT * FROM uploads WHERE patient_id = ? ORDER BY id", (patient_id,))
    return [_upload(r) for r in rows]


# ---- audit ---------------------------------------------------------------------------------------------


def audit(conn: sqlite3.Connection, actor: str, action: str, subject: str, client: str = "") -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, client) VALUES (?, ?, ?, ?, ?)",
        (time.time(), actor, action, subject, client),
    )


def audit_entries(conn: sqlite3.Connection, subject: str | None = None) -> list[AuditEntry]:
    if subject is None:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY id")
    else:
        rows = conn.execute("SELECT * FROM audit_log WHERE subject = ? ORDER BY id", (subject,))
    return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["subject"], r["client"]) for r in rows]
