"""The SQLite repository: migrations, daily token sequences, records that survive reopening."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat

import pytest

from portal import db, storage
from portal.models import OpdKind, Sex, TokenStatus


def _open(path):
    conn = db.connect(path)
    db.migrate(conn)
    return conn


def test_migrations_are_recorded_and_applied_once(tmp_path):
    path = tmp_path / db.DB_FILE
    conn = _open(path)
    assert db.schema_version(conn) == len(db.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    conn = _open(path)  # a second start applies nothing twice
    rows = conn.execute(f"SELECT version FROM {db.VERSION_TABLE}").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(db.MIGRATIONS) + 1))
    assert not [r for r in conn.execute("SELECT name FROM sqlite_master") if r[0].startswith("rx_")]


def test_token_numbers_follow_a_daily_sequence_per_opd(tmp_path):
    conn = _open(tmp_path / db.DB_FILE)
    gen = storage.add_opd(conn, code="GEN", name="General")
    eye = storage.add_opd(conn, code="EYE", name="Eye", kind=OpdKind.SPECIALITY, speciality="ophthalmology")
    p = storage.add_patient(conn, mobile="9876543210", name="Asha", sex=Sex.FEMALE, state="KA",
                            district="Mysuru", language="kn", age_years=40)
    today, tomorrow = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    numbers = [storage.add_token(conn, opd=gen, patient_id=p.id, day=today, language="kn").number for _ in range(3)]
    assert numbers == ["GEN-001", "GEN-002", "GEN-003"]
    assert storage.add_token(conn, opd=eye, patient_id=p.id, day=today, language="kn").number == "EYE-001"
    assert storage.add_token(conn, opd=gen, patient_id=p.id, day=tomorrow, language="kn").number == "GEN-001"
    assert storage.count_live_tokens(conn, gen.id, today) == 3


def test_a_sex_outside_the_vocabulary_is_refused_and_nothing_is_written(tmp_path):
    conn = _open(tmp_path / db.DB_FILE)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO patients (id, mobile, name, sex, state, district, language, created_at)"
            " VALUES ('x', '1', 'n', 'unknown', 's', 'd', 'en', 0)"
        )
    assert conn.execute("SELECT COUNT(*) FROM patients").fetchone()[0] == 0


async def test_a_failed_transaction_leaves_no_half_written_record(tmp_path):
    database = db.Database(tmp_path / db.DB_FILE)
    await database.open()
    try:
        opd = await database.run(lambda c: storage.add_opd(c, code="GEN", name="General"))

        def half(conn):
            p = storage.add_patient(conn, mobile="9876543210", name="A", sex=Sex.MALE, state="s",
                                    district="d", language="hi", age_years=3)
            storage.add_token(conn, opd=opd, patient_id=p.id, day=dt.date.today(), language="hi")
            raise RuntimeError("power cut")

        with pytest.raises(RuntimeError):
            await database.run(half)
        assert await database.run(lambda c: c.execute("SELECT COUNT(*) FROM patients").fetchone()[0]) == 0
        assert await database.run(lambda c: c.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]) == 0
        t = await database.run(lambda c: storage.waiting_tokens(c, opd.id))
        assert t == []
        assert TokenStatus.WAITING.value == "waiting"
    finally:
        await database.close()


def test_a_new_database_file_is_readable_by_its_owner_only(tmp_path):
    conn = db.connect(tmp_path / "data" / db.DB_FILE)
    db.migrate(conn)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "data").iterdir()}
    conn.close()
    assert modes[db.DB_FILE] == 0o600 and all(m == 0o600 for m in modes.values()), modes
