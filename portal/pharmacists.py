"""Registered pharmacists: staff accounts (created by an admin) who may mark prescriptions dispensed.

A pharmacist logs in like a doctor (user name, argon2 password) and is known by the licence number their
State Pharmacy Council issued and the pharmacy they dispense at, both printed on every dispensing mark.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from .storage import NotFound


@dataclass
class Pharmacist:
    id: int
    username: str
    name: str
    licence_number: str  # State Pharmacy Council registration
    pharmacy: str  # where they dispense, e.g. "Jan Aushadhi Kendra, Hosakote"
    password_hash: str = field(default="", repr=False)
    mobile: str = ""
    active: bool = True
    created_at: float = 0.0

    @property
    def identity(self) -> str:
        return f"pharmacist:{self.id}"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "licence_number": self.licence_number, "pharmacy": self.pharmacy}


def _pharmacist(row: sqlite3.Row) -> Pharmacist:
    return Pharmacist(id=row["id"], username=row["username"], name=row["name"], licence_number=row["licence_number"],
                      pharmacy=row["pharmacy"], password_hash=row["password_hash"], mobile=row["mobile"],
                      active=bool(row["active"]), created_at=row["created_at"])


def add_pharmacist(conn: sqlite3.Connection, *, username: str, name: str, licence_number: str, pharmacy: str,
                   password_hash: str, mobile: str = "") -> Pharmacist:
    cur = conn.execute(
        "INSERT INTO pharmacists (username, name, licence_number, pharmacy, password_hash, mobile, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (username, name, licence_number, pharmacy, password_hash, mobile, time.time()),
    )
    return get_pharmacist(conn, int(cur.lastrowid or 0))


def get_pharmacist(conn: sqlite3.Connection, pharmacist_id: int) -> Pharmacist:
    row = conn.execute("SELECT * FROM pharmacists WHERE id = ?", (pharmacist_id,)).fetchone()
    if row is None:
        raise NotFound(f"no pharmacist {pharmacist_id}")
    return _pharmacist(row)


def find_pharmacist(conn: sqlite3.Connection, username: str) -> Pharmacist | None:
    row = conn.execute("SELECT * FROM pharmacists WHERE username = ? AND active = 1", (username,)).fetchone()
    return _pharmacist(row) if row else None


def list_pharmacists(conn: sqlite3.Connection) -> list[Pharmacist]:
    return [_pharmacist(r) for r in conn.execute("SELECT * FROM pharmacists ORDER BY id")]
