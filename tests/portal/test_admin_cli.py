"""`vaidya admin …` against a real SQLite file; the staff it adds log in to a real server."""

from __future__ import annotations

import io
import json
import re

from portal import db
from portal import storage as st
from signaling.cli import main
from tests.portal.conftest import Server

DOCTOR = ["admin", "add-doctor", "--username", "dr-asha", "--name", "Dr Asha Rao", "--qualification",
          "MBBS, MD (Medicine)", "--registration-number", "KMC-4411", "--council", "Karnataka Medical Council",
          "--languages", "kn,en"]


def run(tmp_path, capsys, *argv: str, stdin: str = "", monkeypatch=None) -> tuple[int, str, str]:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main([*argv, "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    return code, out, err


def count(tmp_path, table: str) -> int:
    conn = db.connect(tmp_path / db.DB_FILE)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


async def test_an_admin_adds_an_opd_and_a_doctor_who_can_then_log_in(tmp_path, capsys, aiohttp_server,
                                                                       aiohttp_client):
    code, out, _ = run(tmp_path, capsys, "admin", "add-opd", "--code", "gen", "--name", "General OPD",
                       "--opens", "09:00", "--closes", "17:00")
    assert code == 0 and "GEN" in out
    code, out, _ = run(tmp_path, capsys, *DOCTOR, "--opd", "GEN")
    assert code == 0
    password = re.search(r"password for dr-asha: (\S+)", out).group(1)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob(f"{db.DB_FILE}*"))  # the file and its WAL
    assert password.encode() not in stored  # only the hash is kept

    conn = db.connect(tmp_path / db.DB_FILE)
    doctor = st.find_doctor(conn, "dr-asha")
    assert doctor.languages == ["en", "kn"] and doctor.registration_number == "KMC-4411"
    assert [o.code for o in st.opds_of_doctor(conn, doctor.id)] == ["GEN"]
    assert [e.action for e in st.audit_entries(conn)] == ["add-opd", "add-doctor"]
    conn.close()

    server = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    browser = await server.browser()
    resp, _ = await browser.staff_login("dr-asha", password)
    assert resp.status == 303 and resp.headers["Location"] == "/portal/doctor"


def test_a_password_can_come_from_stdin_and_is_never_printed(tmp_path, capsys, monkeypatch):
    code, out, _ = run(tmp_path, capsys, "admin", "add-health-worker", "--username", "hw-1", "--name", "Lakshmi",
                       "--facility", "PHC Hosakote", "--password-stdin", stdin="a long enough secret\n",
                       monkeypatch=monkeypatch)
    assert code == 0 and "a long enough secret" not in out and "password for" not in out
    conn = db.connect(tmp_path / db.DB_FILE)
    from portal.security import verify_password

    assert verify_password(st.find_health_worker(conn, "hw-1").password_hash, "a long enough secret")
    conn.close()


def test_a_bad_argument_gets_one_clear_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    run(tmp_path, capsys, "admin", "add-opd", "--code", "GEN", "--name", "General OPD")
    code, out, err = run(tmp_path, capsys, *DOCTOR, "--opd", "GEN", "--opd", "EYE")
    assert code == 1 and "no OPD with code 'EYE'" in err
    code, _, err = run(tmp_path, capsys, *DOCTOR[:-1], "kn,fr", "--opd", "GEN")
    assert code == 1 and "languages must be some of" in err
    code, _, err = run(tmp_path, capsys, "admin", "add-opd", "--code", "GEN", "--name", "Again")
    assert code == 1 and "taken" in err
    code, _, err = run(tmp_path, capsys, "admin", "add-opd", "--code", "EYE", "--name", "Eye", "--opens", "18:00",
                       "--closes", "09:00")
    assert code == 1 and "open before it closes" in err
    code, _, err = run(tmp_path, capsys, "admin", "add-health-worker", "--username", "hw-1", "--name", "L",
                       "--facility", "PHC", "--password-stdin", stdin="short\n", monkeypatch=monkeypatch)
    assert code == 1 and "at least 10 characters" in err
    code, _, err = run(tmp_path, capsys, "admin", "add-health-worker", "--username", "hw-1", "--name", "L",
                       "--facility", "PHC", "--mobile", "12345")
    assert code == 1 and "not a 10-digit Indian mobile number" in err
    for name in ("Lakshmi \u202eMD", "\u200b\u200b"):  # a bidi override; only zero-width spaces
        code, _, err = run(tmp_path, capsys, "admin", "add-health-worker", "--username", "hw-1", "--name", name,
                           "--facility", "PHC", "--password-stdin", stdin="a long enough secret\n",
                           monkeypatch=monkeypatch)
        assert code == 1 and "the health worker's name:" in err
    assert (count(tmp_path, "doctors"), count(tmp_path, "opds"), count(tmp_path, "health_workers")) == (0, 1, 0)
    assert count(tmp_path, "audit_log") == 1  # only the OPD that was added


def test_a_user_name_is_unique_across_doctors_and_health_workers(tmp_path, capsys):
    assert run(tmp_path, capsys, *DOCTOR)[0] == 0
    code, _, err = run(tmp_path, capsys, "admin", "add-health-worker", "--username", "dr-asha", "--name", "X",
                       "--facility", "PHC")
    assert code == 1 and "taken" in err


def test_list_shows_every_record_without_password_hashes(tmp_path, capsys):
    run(tmp_path, capsys, "admin", "add-opd", "--code", "CAR", "--name", "Cardiology", "--speciality",
        "cardiology", "--hub")
    run(tmp_path, capsys, *DOCTOR, "--opd", "CAR")
    run(tmp_path, capsys, "admin", "add-health-worker", "--username", "hw-1", "--name", "Lakshmi", "--facility",
        "PHC Hosakote")
    code, out, _ = run(tmp_path, capsys, "admin", "list", "--json")
    data = json.loads(out)
    assert code == 0 and "argon2" not in out
    assert data["opds"][0]["is_hub"] and data["opds"][0]["kind"] == "speciality"
    assert data["doctors"][0]["opds"] == ["CAR"] and data["health_workers"][0]["facility"] == "PHC Hosakote"
    code, out, _ = run(tmp_path, capsys, "admin", "list")
    assert "dr-asha" in out and "Lakshmi at PHC Hosakote" in out and "CAR" in out
