"""The embedded SQLite database: one file in the data dir, WAL mode, synchronous=FULL, versioned migrations in code.

All statements run on one worker thread that owns the connection, so the event loop never blocks on disk
and writes are serialized (a token's daily sequence number cannot be handed out twice). The Rx module keeps
its own `rx_*` tables and version table in the same file; the portal never touches them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .datafiles import Sync, open_sqlite

DB_FILE = "vaidya.db"
VERSION_TABLE = "portal_schema_version"

T = TypeVar("T")

#: Each entry moves the schema one version up; never edit a released entry, append a new one.
MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        mobile TEXT NOT NULL,
        name TEXT NOT NULL,
        sex TEXT NOT NULL CHECK (sex IN ('female','male','other')),
        age_years INTEGER,
        birth_date TEXT,
        state TEXT NOT NULL,
        district TEXT NOT NULL,
        language TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX patients_mobile ON patients(mobile);

    CREATE TABLE doctors (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        qualification TEXT NOT NULL,
        registration_number TEXT NOT NULL,
        council TEXT NOT NULL,
        languages TEXT NOT NULL DEFAULT '',
        specialities TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        mobile TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    );

    CREATE TABLE health_workers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        facility TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        mobile TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    );

    CREATE TABLE opds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('general','speciality')),
        speciality TEXT NOT NULL DEFAULT '',
        opens TEXT NOT NULL DEFAULT '00:00',
        closes TEXT NOT NULL DEFAULT '23:59',
        capacity INTEGER NOT NULL DEFAULT 200,
        consult_limit_min INTEGER NOT NULL DEFAULT 15,
        is_hub INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE doctor_opds (
        doctor_id INTEGER NOT NULL REFERENCES doctors(id),
        opd_id INTEGER NOT NULL REFERENCES opds(id),
        PRIMARY KEY (doctor_id, opd_id)
    );

    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT NOT NULL,
        opd_id INTEGER NOT NULL REFERENCES opds(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        day TEXT NOT NULL,
        seq INTEGER NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL,
        visit TEXT NOT NULL DEFAULT 'first',
        want_doctor_id INTEGER REFERENCES doctors(id),
        queued_at REAL,
        missed_count INTEGER NOT NULL DEFAULT 0,
        doctor_id INTEGER REFERENCES doctors(id),
        consultation_id INTEGER,
        health_worker_id INTEGER REFERENCES health_workers(id),
        consent_who TEXT,
        consent_at REAL,
        consent_how TEXT,
        login_secret_hash TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        UNIQUE (opd_id, day, seq)
    );
    CREATE INDEX tokens_queue ON tokens(opd_id, status, queued_at);
    CREATE INDEX tokens_patient ON tokens(patient_id);

    CREATE TABLE consultations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_id INTEGER NOT NULL REFERENCES tokens(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        doctor_id INTEGER NOT NULL REFERENCES doctors(id),
        opd_id INTEGER NOT NULL REFERENCES opds(id),
        room TEXT NOT NULL UNIQUE,
        mode TEXT NOT NULL CHECK (mode IN ('video','audio','text')),
        visit TEXT NOT NULL CHECK (visit IN ('first','follow_up')),
        started_by TEXT NOT NULL,
        started_by_id TEXT NOT NULL DEFAULT '',
        health_worker_id INTEGER REFERENCES health_workers(id),
        consent_who TEXT NOT NULL,
        consent_at REAL NOT NULL,
        consent_how TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at REAL NOT NULL,
        answered_at REAL,
        ended_at REAL,
        duration_s REAL
    );
    CREATE INDEX consultations_doctor ON consultations(doctor_id, status);
    CREATE INDEX consultations_opd_ended ON consultations(opd_id, ended_at);

    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        token_id INTEGER REFERENCES tokens(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        stored_name TEXT NOT NULL UNIQUE,
        uploaded_by TEXT NOT NULL,
        created_at REAL NOT NULL
    );

    CREATE TABLE otps (
        mobile TEXT PRIMARY KEY,
        code_hash TEXT NOT NULL,
        expires_at REAL NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE otp_sends (
        mobile TEXT NOT NULL,
        client TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX otp_sends_mobile ON otp_sends(mobile, at);
    CREATE INDEX otp_sends_client ON otp_sends(client, at);

    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('patient','doctor','health_worker')),
        subject TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        client TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_subject ON audit_log(subject);
    """,
    # 2: registered pharmacists (they mark prescriptions dispensed); sessions may belong to one. SQLite cannot
    # change a CHECK constraint in place, so the sessions table is rebuilt with its rows.
    """
    CREATE TABLE pharmacists (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        licence_number TEXT NOT NULL,
        pharmacy TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        mobile TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    );
    CREATE TABLE sessions_v2 (
        id_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('patient','doctor','health_worker','pharmacist')),
        subject TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    INSERT INTO sessions_v2 SELECT id_hash, kind, subject, created_at, expires_at FROM sessions;
    DROP TABLE sessions;
    ALTER TABLE sessions_v2 RENAME TO sessions;
    """,
    # 3: queue SMS sent once: "your turn is near" per token, "the doctor is calling" per call (consultation)
    """
    ALTER TABLE tokens ADD COLUMN near_sms_at REAL;
    ALTER TABLE tokens ADD COLUMN called_sms_for INTEGER;
    """,
    # 4: OTP limits that others cannot spend for the patient (portal/otp.py): several live codes per number,
    # each bound to the browser that asked for it; wrong guesses by every other browser counted per number.
    """
    DROP TABLE otps;
    CREATE TABLE otp_codes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mobile TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        requester TEXT NOT NULL,
        expires_at REAL NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX otp_codes_mobile ON otp_codes(mobile, expires_at);
    CREATE TABLE otp_misses (
        mobile TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX otp_misses_mobile ON otp_misses(mobile, at);
    CREATE INDEX otp_sends_at ON otp_sends(at);
    """,
    # 5: each OTP's SMS carries a login link (portal/otp.py, "proof of possession"), live longer than the code
    """
    ALTER TABLE otp_codes ADD COLUMN link_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE otp_codes ADD COLUMN link_expires_at REAL NOT NULL DEFAULT 0;
    """,
]


def connect(path: Path, synchronous: Sync = "FULL") -> sqlite3.Connection:
    """Open the database file (WAL, synchronous=FULL, foreign keys on); usable from one thread at a time.

    A new file is created readable by its owner only (patient records); see portal.datafiles.
    """
    conn = open_sqlite(path, check_same_thread=False, synchronous=synchronous)
    conn.row_factory = sqlite3.Row
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL, applied_at REAL NOT NULL)")
    row = conn.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration above the stored version, each in its own transaction; return the version."""
    version = schema_version(conn)
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version, applied_at) VALUES (?, ?)", (number, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class Database:
    """An SQLite connection owned by one worker thread; `run` executes a function there in a transaction."""

    def __init__(self, path: Path, synchronous: Sync = "FULL") -> None:
        self.path = path
        self.synchronous: Sync = synchronous
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-db")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, self._open)

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path, self.synchronous)
        migrate(conn)
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on the database thread inside one transaction (rolled back if it raises)."""
        if self._conn is None:
            raise RuntimeError("the database is not open")
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, in_transaction, conn, fn)


def in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
