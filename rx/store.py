"""Append-only SQLite storage for signed prescriptions, doctors' keys, revocations and dispensing marks.

Lives in the portal's database file (`vaidya.db`); every table is prefixed `rx_`, with its own schema
version. Connections commit with synchronous=FULL and the file is created 0600 (portal.datafiles). Triggers refuse UPDATE and DELETE on signed versions, revocations and dispensing marks, so a
signed prescription can only be superseded by a new version, never edited.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.datafiles import Sync, open_sqlite

from .canonical import parse_canonical, parse_utc, utc_text
from .model import DoctorSnapshot, PharmacistSnapshot, Signed
from .signing import NewKey

SCHEMA_VERSION = 3

#: Each entry moves the rx tables one version up from the one before (the list index + 2); never edit a
#: released entry. Existing rows are kept: columns are added with defaults, tables created.
MIGRATIONS: list[str] = [
    # 2: dispensing by a registered pharmacist, with the quantity given per line.
    """
    ALTER TABLE rx_dispensations ADD COLUMN pharmacist_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE rx_dispensations ADD COLUMN licence_number TEXT NOT NULL DEFAULT '';
    ALTER TABLE rx_dispensations ADD COLUMN pharmacy TEXT NOT NULL DEFAULT '';
    CREATE TABLE rx_dispensed_lines (
        dispensation_id INTEGER NOT NULL REFERENCES rx_dispensations (id),
        line INTEGER NOT NULL CHECK (line >= 0),
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (dispensation_id, line)
    );
    """,
    # 3: the QR carries the signed medicines (statement version 2; rows signed before are version 1), and
    # the doctor's handwritten signature as an image (checked by rx.signature_image), append-only per
    # doctor: the newest one uploaded before a prescription was signed is printed on it.
    """
    ALTER TABLE rx_versions ADD COLUMN statement_version INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE rx_doctor_signature_images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doctor_id TEXT NOT NULL,
        image BLOB NOT NULL,
        uploaded_at TEXT NOT NULL
    );
    CREATE INDEX rx_doctor_signature_images_doctor ON rx_doctor_signature_images (doctor_id, uploaded_at);
    """,
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rx_schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rx_doctor_keys (
    key_id TEXT PRIMARY KEY,
    doctor_id TEXT NOT NULL,
    doctor_name TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    council TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rx_doctor_keys_doctor ON rx_doctor_keys (doctor_id, created_at);
CREATE TABLE IF NOT EXISTS rx_versions (
    rx_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    doctor_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    consultation_id TEXT NOT NULL,
    canonical BLOB NOT NULL,
    digest BLOB NOT NULL,
    key_id TEXT NOT NULL REFERENCES rx_doctor_keys (key_id),
    signature BLOB NOT NULL,
    signed_at TEXT NOT NULL,
    PRIMARY KEY (rx_id, version)
);
CREATE INDEX IF NOT EXISTS rx_versions_patient ON rx_versions (patient_id);
CREATE INDEX IF NOT EXISTS rx_versions_doctor ON rx_versions (doctor_id);
CREATE TABLE IF NOT EXISTS rx_revocations (
    rx_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    revoked_by TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    PRIMARY KEY (rx_id, version),
    FOREIGN KEY (rx_id, version) REFERENCES rx_versions (rx_id, version)
);
CREATE TABLE IF NOT EXISTS rx_dispensations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rx_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    dispensed_by TEXT NOT NULL,
    note TEXT NOT NULL,
    dispensed_at TEXT NOT NULL,
    FOREIGN KEY (rx_id, version) REFERENCES rx_versions (rx_id, version)
);
"""

_APPEND_ONLY = ("rx_versions", "rx_revocations", "rx_dispensations", "rx_doctor_keys", "rx_dispensed_lines",
                "rx_doctor_signature_images")


class StoreError(Exception):
    """A write that would break the record: a version out of order, or a second revocation."""


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    doctor_id: str
    doctor_name: str
    registration_number: str
    council: str
    public_key: bytes
    sealed_private_key: bytes
    created_at: datetime


@dataclass(frozen=True)
class Revocation:
    rx_id: str
    version: int
    reason: str
    revoked_by: str
    revoked_at: datetime


class DispenseRefused(StoreError):
    """The quantities asked for are more than the prescription allows, or not quantities at all; `line` is
    the index of the line refused, when one is."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Dispensation:
    """One dispensing mark. Marks made before pharmacists had accounts carry only the name typed
    (`dispensed_by`) and no lines."""

    rx_id: str
    version: int
    dispensed_by: str
    note: str
    dispensed_at: datetime
    pharmacist_id: str = ""
    licence_number: str = ""
    pharmacy: str = ""
    #: (line index, quantity given), in line order.
    lines: tuple[tuple[int, int], ...] = ()


class Store:
    def __init__(self, path: Path, synchronous: Sync = "FULL") -> None:
        self.path = Path(path)
        self.synchronous: Sync = synchronous  # NORMAL only to measure what FULL costs (vaidya-bench commits)
        triggers = "".join(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;\n"
            for table in _APPEND_ONLY
            for action in ("UPDATE", "DELETE")
        )
        db = open_sqlite(self.path, synchronous=self.synchronous)
        try:
            db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}COMMIT;")
        finally:
            db.close()
        with self._connect() as db:
            found = db.execute("SELECT MAX(version) FROM rx_schema_version").fetchone()[0]
            if found is None:  # a new file: the schema above is version 1
                db.execute("INSERT INTO rx_schema_version (version) VALUES (1)")
                found = 1
            if found > SCHEMA_VERSION:
                raise StoreError(f"the rx tables are schema {found}, newer than this code ({SCHEMA_VERSION})")
            for number, script in enumerate(MIGRATIONS, start=2):
                if number > found:
                    for statement in (part.strip() for part in script.split(";")):
                        if statement:
                            db.execute(statement)
                    db.execute("INSERT INTO rx_schema_version (version) VALUES (?)", (number,))
            for statement in triggers.splitlines():
                db.execute(statement)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = open_sqlite(self.path, synchronous=self.synchronous)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # Keys -----------------------------------------------------------------------------------------------
    def add_key(self, doctor: DoctorSnapshot, key: NewKey, now: datetime) -> KeyRecord:
        with self._connect() as db:
            db.execute(
                "INSERT INTO rx_doctor_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key.key_id, doctor.id, doctor.name, doctor.registration_number, doctor.council,
                 key.public_key, key.sealed_private_key, utc_text(now)),
            )
        return KeyRecord(key.key_id, doctor.id, doctor.name, doctor.registration_number, doctor.council,
                         key.public_key, key.sealed_private_key, now)

    def key(self, key_id: str) -> KeyRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM rx_doctor_keys WHERE key_id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    def current_key(self, doctor: DoctorSnapshot) -> KeyRecord | None:
        """The doctor's newest key, if it was issued under the registration now on the profile."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM rx_doctor_keys WHERE doctor_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (doctor.id,),
            ).fetchone()
        record = _key(row) if row else None
        if record and (record.registration_number, record.council, record.doctor_name) != (
            doctor.registration_number, doctor.council, doctor.name
        ):
            return None
        return record

    def keys(self) -> list[KeyRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM rx_doctor_keys ORDER BY created_at, key_id").fetchall()
        return [_key(r) for r in rows]

    # Signature images ------------------------------------------------------------------------------------
    def add_signature_image(self, doctor_id: str, image: bytes, now: datetime) -> None:
        """Keep a doctor's signature image (already checked); earlier ones stay for earlier prescriptions."""
        with self._connect() as db:
            db.execute("INSERT INTO rx_doctor_signature_images (doctor_id, image, uploaded_at) VALUES (?, ?, ?)",
                       (doctor_id, image, utc_text(now)))

    def signature_image(self, doctor_id: str, at: datetime) -> bytes | None:
        """The doctor's newest signature image uploaded at or before `at` (when a prescription was signed)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT image FROM rx_doctor_signature_images WHERE doctor_id = ? AND uploaded_at <= ? "
                "ORDER BY uploaded_at DESC, id DESC LIMIT 1", (doctor_id, utc_text(at))).fetchone()
        return bytes(row[0]) if row else None

    # Prescriptions --------------------------------------------------------------------------------------
    def append(self, signed: Signed) -> None:
        """Store a signed version; version 1 must be new, version n must follow n-1 (which it supersedes)."""
        rx = signed.prescription
        with self._connect() as db:
            top = db.execute("SELECT MAX(version) FROM rx_versions WHERE rx_id = ?", (rx.id,)).fetchone()[0]
            expected = (top or 0) + 1
            if rx.version != expected or rx.supersedes != (top if top else None):
                raise StoreError(f"prescription {rx.id}: expected version {expected}, got {rx.version}")
            if top and db.execute(
                "SELECT 1 FROM rx_revocations WHERE rx_id = ? AND version = ?", (rx.id, top)
            ).fetchone():
                raise StoreError(f"prescription {rx.id} was revoked: issue a new prescription instead")
            db.execute(
                "INSERT INTO rx_versions (rx_id, version, doctor_id, patient_id, consultation_id, canonical, digest, "
                "key_id, signature, signed_at, statement_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rx.id, rx.version, rx.doctor.id, rx.patient.id, rx.consultation.id, signed.canonical,
                 signed.digest, signed.key_id, signed.signature, utc_text(signed.signed_at),
                 signed.statement_version),
            )

    def version(self, rx_id: str, version: int) -> Signed | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT canonical, digest, key_id, signature, signed_at, statement_version FROM rx_versions WHERE rx_id = ? AND version = ?",
                (rx_id, version),
            ).fetchone()
        return _signed(row) if row else None

    def versions(self, rx_id: str) -> list[Signed]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT canonical, digest, key_id, signature, signed_at, statement_version FROM rx_versions WHERE rx_id = ? ORDER BY version",
                (rx_id,),
            ).fetchall()
        return [_signed(r) for r in rows]

    def latest(self, rx_id: str) -> Signed | None:
        found = self.versions(rx_id)
        return found[-1] if found else None

    def latest_for(self, *, patient_id: str | None = None, doctor_id: str | None = None) -> list[Signed]:
        """The newest version of each prescription for one patient or one doctor, newest first."""
        column, value = ("patient_id", patient_id) if patient_id is not None else ("doctor_id", doctor_id)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT canonical, digest, key_id, signature, signed_at, statement_version FROM rx_versions v WHERE {column} = ? "
                "AND version = (SELECT MAX(version) FROM rx_versions w WHERE w.rx_id = v.rx_id) "
                "ORDER BY signed_at DESC, rx_id",
                (value,),
            ).fetchall()
        return [_signed(r) for r in rows]

    # Revocation and dispensing ----------------------------------------------------------------------------
    def revoke(self, rx_id: str, version: int, reason: str, revoked_by: str, now: datetime) -> Revocation:
        if not reason.strip():
            raise StoreError("a revocation needs a reason")
        with self._connect() as db:
            if db.execute("SELECT 1 FROM rx_revocations WHERE rx_id = ? AND version = ?", (rx_id, version)).fetchone():
                raise StoreError(f"prescription {rx_id} version {version} is already revoked")
            db.execute("INSERT INTO rx_revocations VALUES (?, ?, ?, ?, ?)",
                       (rx_id, version, reason.strip(), revoked_by, utc_text(now)))
        return Revocation(rx_id, version, reason.strip(), revoked_by, now)

    def revocation(self, rx_id: str, version: int) -> Revocation | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM rx_revocations WHERE rx_id = ? AND version = ?", (rx_id, version)).fetchone()
        return Revocation(row[0], row[1], row[2], row[3], parse_utc(row[4])) if row else None

    def revocations(self) -> list[Revocation]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM rx_revocations ORDER BY revoked_at").fetchall()
        return [Revocation(r[0], r[1], r[2], r[3], parse_utc(r[4])) for r in rows]

    def superseded(self) -> list[tuple[str, int, int]]:
        """(prescription ID, version, newest version) for every version a correction replaced."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.rx_id, v.version, (SELECT MAX(version) FROM rx_versions w WHERE w.rx_id = v.rx_id) AS top "
                "FROM rx_versions v WHERE v.version < top ORDER BY v.rx_id, v.version"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def dispense(self, rx_id: str, version: int, pharmacist: PharmacistSnapshot, lines: dict[int, int],
                 allowed: dict[int, int | None], note: str, now: datetime) -> Dispensation:
        """Record what a pharmacist gave, per line, if it fits what is left of each line's `allowed` total
        (None: a line signed without a quantity, which may be dispensed once). Checked and written in one
        transaction, so two pharmacists cannot both fill the last of a line."""
        with self._connect() as db:
            given = _totals(db, rx_id)
            legacy = db.execute(  # a mark made before quantities were recorded counts as a complete fill
                "SELECT 1 FROM rx_dispensations d WHERE rx_id = ? AND NOT EXISTS"
                " (SELECT 1 FROM rx_dispensed_lines l WHERE l.dispensation_id = d.id)", (rx_id,)).fetchone()
            for line, quantity in sorted(lines.items()):
                top, before = allowed[line], given.get(line, 0)
                if top is None and (before or legacy):
                    raise DispenseRefused("already dispensed (this line was signed without a quantity, so it can "
                                          "be dispensed only once)", line)
                if top is not None and before + quantity > top:
                    raise DispenseRefused(f"{before} of {top} already dispensed, so at most {top - before} more "
                                          "can be given", line)
            cur = db.execute(
                "INSERT INTO rx_dispensations (rx_id, version, dispensed_by, note, dispensed_at, pharmacist_id,"
                " licence_number, pharmacy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rx_id, version, pharmacist.name, note, utc_text(now), pharmacist.id, pharmacist.licence_number,
                 pharmacist.pharmacy),
            )
            db.executemany("INSERT INTO rx_dispensed_lines (dispensation_id, line, quantity) VALUES (?, ?, ?)",
                           [(cur.lastrowid, line, quantity) for line, quantity in sorted(lines.items())])
        return Dispensation(rx_id, version, pharmacist.name, note, now, pharmacist.id, pharmacist.licence_number,
                            pharmacist.pharmacy, tuple(sorted(lines.items())))

    def dispensed_totals(self, rx_id: str) -> dict[int, int]:
        """Line index → quantity dispensed so far, over every version of the prescription."""
        with self._connect() as db:
            return _totals(db, rx_id)

    def dispensations(self, rx_id: str) -> list[Dispensation]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, rx_id, version, dispensed_by, note, dispensed_at, pharmacist_id, licence_number, pharmacy"
                " FROM rx_dispensations WHERE rx_id = ? ORDER BY id",
                (rx_id,),
            ).fetchall()
            lines: dict[int, list[tuple[int, int]]] = {}
            for mark, line, quantity in db.execute(
                "SELECT l.dispensation_id, l.line, l.quantity FROM rx_dispensed_lines l JOIN rx_dispensations d"
                " ON d.id = l.dispensation_id WHERE d.rx_id = ? ORDER BY l.dispensation_id, l.line", (rx_id,)
            ):
                lines.setdefault(mark, []).append((line, quantity))
        return [Dispensation(r[1], r[2], r[3], r[4], parse_utc(r[5]), r[6], r[7], r[8], tuple(lines.get(r[0], ())))
                for r in rows]


def _totals(db: sqlite3.Connection, rx_id: str) -> dict[int, int]:
    rows = db.execute(
        "SELECT l.line, SUM(l.quantity) FROM rx_dispensed_lines l JOIN rx_dispensations d ON d.id = l.dispensation_id"
        " WHERE d.rx_id = ? GROUP BY l.line", (rx_id,),
    ).fetchall()
    return {int(line): int(total) for line, total in rows}


def _key(row: tuple) -> KeyRecord:
    return KeyRecord(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]), parse_utc(row[7]))


def _signed(row: tuple) -> Signed:
    canonical = bytes(row[0])
    return Signed(parse_canonical(canonical), canonical, bytes(row[1]), row[2], bytes(row[3]), parse_utc(row[4]),
                  int(row[5]))
