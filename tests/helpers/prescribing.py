"""A doctor issuing prescriptions over HTTP to a real server process, and checks of what was stored.

The clinic is written into the data dir before the server starts (tests/rx/web_harness.make_clinic); the
doctor logs in through the staff login form like a browser (cookies sent by hand: the client talks to a
new port after each restart, and a session lives in the database, so it survives restarts).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from portal import db as portal_db
from portal import security
from portal.auth import SESSION_COOKIE
from portal.middlewares import BROWSER_COOKIE
from rx.store import Store
from rx.verify import Status, verify_id
from tests.helpers.server import SECRET
from tests.rx.web_harness import FORM, Clinic, make_clinic

PASSWORD = "correct horse battery"
DOCTOR = "dr-asha"


def prepare_clinic(data_dir: Path) -> Clinic:
    """The Rx web tests' clinic, with a password the doctor can log in with."""
    clinic = make_clinic(data_dir)
    conn = sqlite3.connect(data_dir / portal_db.DB_FILE)
    with conn:
        conn.execute("UPDATE doctors SET password_hash = ? WHERE username = ?",
                     (security.hash_password(PASSWORD), DOCTOR))
    conn.close()
    return clinic


@dataclass
class Doctor:
    """Dr Asha's browser: a browser id, a CSRF token derived from it, and a session once logged in."""

    consultation: int
    secret: str = SECRET  # the server's: CSRF tokens are derived from it
    browser_id: str = field(default_factory=security.new_secret)
    session: str = ""

    def _headers(self) -> dict[str, str]:
        cookies = f"{BROWSER_COOKIE}={self.browser_id}"
        if self.session:
            cookies += f"; {SESSION_COOKIE}={self.session}"
        return {"Cookie": cookies, "X-CSRF-Token": security.csrf_token(self.secret, self.browser_id)}

    async def log_in(self, http: aiohttp.ClientSession, base: str) -> None:
        form = {"csrf": security.csrf_token(self.secret, self.browser_id), "username": DOCTOR, "password": PASSWORD}
        async with http.post(f"{base}/portal/staff/login", data=form, headers=self._headers(),
                             allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            self.session = resp.cookies[SESSION_COOKIE].value

    async def issue(self, http: aiohttp.ClientSession, base: str) -> str | None:
        """Issue one prescription; its ID once the server acknowledged it (201 and the whole body read)."""
        path = f"{base}/rx/api/consultations/{self.consultation}/prescriptions"
        async with http.post(path, json=FORM, headers=self._headers()) as resp:
            if resp.status != 201:  # e.g. 429 once past the portal's POST budget (60 at once, then 2/s)
                return None
            return (await resp.json())["id"]


def unverified(data_dir: Path, rx_ids: list[str]) -> dict[str, str]:
    """Each prescription ID that is missing, or whose stored signature does not verify, with why."""
    store = Store(data_dir / portal_db.DB_FILE)
    problems = {}
    for rx_id in rx_ids:
        verdict = verify_id(rx_id, 1, store)
        if verdict.status is not Status.VALID:
            problems[rx_id] = verdict.reason
    return problems


def integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
