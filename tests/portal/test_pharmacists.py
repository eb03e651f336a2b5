"""Pharmacists are staff an admin adds (licence number, pharmacy, argon2 password); doctors' registration
numbers are checked per council when they are added."""

from __future__ import annotations

import re
import sqlite3

from portal import db
from portal import pharmacists
from portal.security import verify_password
from tests.portal.conftest import Server
from tests.portal.test_admin_cli import DOCTOR, count, run

PHARMACIST = ["admin", "add-pharmacist", "--username", "ph-iyer", "--name", "M. Iyer", "--licence-number",
              "KSPC-22310", "--pharmacy", "Jan Aushadhi Kendra, Hosakote"]


async def test_an_admin_adds_a_pharmacist_who_logs_in_to_the_verify_page(tmp_path, capsys, aiohttp_server,
                                                                         aiohttp_client):
    code, out, _ = run(tmp_path, capsys, *PHARMACIST)
    assert code == 0 and "KSPC-22310" in out and "Jan Aushadhi Kendra, Hosakote" in out
    password = re.search(r"password for ph-iyer: (\S+)", out).group(1)
    conn = db.connect(tmp_path / db.DB_FILE)
    chemist = pharmacists.find_pharmacist(conn, "ph-iyer")
    assert chemist.password_hash.startswith("$argon2id$") and verify_password(chemist.password_hash, password)
    assert (chemist.licence_number, chemist.pharmacy) == ("KSPC-22310", "Jan Aushadhi Kendra, Hosakote")
    conn.close()
    code, out, _ = run(tmp_path, capsys, "admin", "list")
    assert "ph-iyer" in out and "KSPC-22310" in out

    server = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    browser = await server.browser()
    resp, _ = await browser.staff_login("ph-iyer", password)
    assert resp.status == 303 and resp.headers["Location"] == "/rx/verify"


def test_a_pharmacist_needs_a_real_licence_number_and_a_pharmacy(tmp_path, capsys):
    code, _, err = run(tmp_path, capsys, *PHARMACIST[:7], "0000", *PHARMACIST[8:])
    assert code == 1 and "placeholder" in err
    code, _, err = run(tmp_path, capsys, *PHARMACIST[:-1], " ")
    assert code == 1 and "pharmacy" in err
    assert count(tmp_path, "pharmacists") == 0
    assert run(tmp_path, capsys, *PHARMACIST)[0] == 0
    code, _, err = run(tmp_path, capsys, *DOCTOR[:3], "ph-iyer", *DOCTOR[4:])
    assert code == 1 and "taken" in err


def test_a_doctor_with_a_placeholder_or_foreign_registration_number_is_not_added(tmp_path, capsys):
    for number, words in (("0000", "placeholder"), ("MMC-4411", "not an abbreviation of Karnataka")):
        argv = list(DOCTOR)
        argv[argv.index("KMC-4411")] = number
        code, _, err = run(tmp_path, capsys, *argv)
        assert code == 1 and words in err
    assert count(tmp_path, "doctors") == 0


def test_the_migration_keeps_sessions_and_accepts_pharmacist_sessions(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    conn.execute(f"CREATE TABLE {db.VERSION_TABLE} (version INTEGER NOT NULL, applied_at REAL NOT NULL)")
    for statement in db._statements(db.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute(f"INSERT INTO {db.VERSION_TABLE} VALUES (1, 0)")
    conn.execute("INSERT INTO sessions VALUES ('h1', 'doctor', '3', 0, 9e12)")
    assert db.migrate(conn) == len(db.MIGRATIONS) >= 2
    assert [tuple(r) for r in conn.execute("SELECT kind, subject FROM sessions")] == [("doctor", "3")]
    conn.execute("INSERT INTO sessions VALUES ('h2', 'pharmacist', '1', 0, 9e12)")
    try:
        conn.execute("INSERT INTO sessions VALUES ('h3', 'intruder', '1', 0, 9e12)")
        raise AssertionError("an unknown session kind was accepted")
    except sqlite3.IntegrityError:
        pass
    conn.close()
