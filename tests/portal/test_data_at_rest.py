"""Data private at rest: the data dir 0700 and every file in it 0600, whoever opens it first, under any umask;
an existing too-open data dir is tightened at start; every database connection commits with synchronous=FULL."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal import datafiles, db
from portal import storage as st
from portal.models import Sex
from portal.uploads import Uploads
from rx.store import Store
from signaling.app import create_app
from signaling.config import ensure_secret, load_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(data_dir: Path) -> dict[str, int]:
    """Path relative to the data dir (the dir itself as '.') → permission bits, for everything in it."""
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.stat().st_mode)
    return found


def too_open(data_dir: Path) -> dict[str, str]:
    """Everything whose mode lets anyone but the owner in (directories must be 0700, files 0600)."""
    return {name: oct(mode) for name, mode in modes(data_dir).items()
            if mode & ~(0o700 if (data_dir / name).is_dir() else 0o600)}


def open_portal_db(data_dir: Path) -> None:
    conn = db.connect(data_dir / db.DB_FILE)
    db.migrate(conn)
    st.add_patient(conn, mobile="9800000001", name="Sita Devi", sex=Sex.FEMALE, state="Karnataka",
                   district="Mysuru", language="hi", age_years=42)
    conn.close()


def open_rx_store(data_dir: Path) -> None:
    Store(data_dir / db.DB_FILE).keys()


def make_secret(data_dir: Path) -> None:
    ensure_secret(load_config(None, {"data_dir": data_dir, "secret": ""}))


async def save_upload(data_dir: Path) -> None:
    database = db.Database(data_dir / db.DB_FILE)
    await database.open()
    try:
        patient = await database.run(lambda conn: st.add_patient(
            conn, mobile="9800000002", name="Ravi Kumar", sex=Sex.MALE, state="Karnataka", district="Kolar",
            language="kn", age_years=35))
        await Uploads(database, data_dir).save(patient.id, None, "report.png", PNG, "patient")
    finally:
        await database.close()


OPENERS: dict[str, Callable[[Path], object]] = {
    "portal db": open_portal_db, "rx store": open_rx_store, "secret": make_secret, "upload": save_upload,
}


@pytest.mark.parametrize("order", list(itertools.permutations(["portal db", "rx store", "secret"])) +
                         [("upload", "rx store", "secret"), ("rx store", "upload", "secret")],
                         ids=lambda order: " then ".join(order))
@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask 022", "umask 000"])
async def test_every_file_in_the_data_dir_is_private_whoever_opens_it_first(tmp_path, order, mask):
    data_dir = tmp_path / "data"
    with umask(mask):
        for name in order:
            result = OPENERS[name](data_dir)
            if hasattr(result, "__await__"):
                await result
        live = db.connect(data_dir / db.DB_FILE)  # while a connection is open, SQLite's side files exist
        live.execute("INSERT INTO audit_log (at, actor, action, subject) VALUES (0, 'test', 'look', 'x')")
    try:
        assert {"vaidya.db", "vaidya.db-wal", "vaidya.db-shm", "secret.key"} <= set(modes(data_dir))
        assert too_open(data_dir) == {}, f"readable by others after {order}"
    finally:
        live.close()
    assert too_open(data_dir) == {}


def test_a_too_open_data_dir_from_before_is_tightened_at_start_and_says_so(tmp_path, caplog):
    data_dir = tmp_path / "data"
    with umask(0o022):
        data_dir.mkdir(mode=0o755)
        (data_dir / "uploads").mkdir(mode=0o755)
        (data_dir / "uploads" / "a1b2").write_bytes(PNG)
        conn = __import__("sqlite3").connect(data_dir / db.DB_FILE)  # as the Rx store used to create it
        conn.execute("CREATE TABLE t (x)")
        conn.close()
    os.chmod(data_dir / db.DB_FILE, 0o644)
    assert too_open(data_dir)
    with caplog.at_level(logging.WARNING, logger="portal.datafiles"):
        create_app(load_config(None, {"data_dir": data_dir, "secret": "s" * 48}))
    assert too_open(data_dir) == {}
    logged = " ".join(r.getMessage() for r in caplog.records)
    for name in ("vaidya.db", "uploads", "a1b2"):
        assert name in logged
    assert modes(data_dir)["."] == 0o700


def test_tighten_leaves_private_files_alone_and_reports_nothing(tmp_path):
    data_dir = tmp_path / "data"
    open_portal_db(data_dir)
    assert datafiles.tighten(data_dir) == []


async def test_the_portal_and_the_rx_store_commit_with_synchronous_full(tmp_path):
    data_dir = tmp_path / "data"
    database = db.Database(data_dir / db.DB_FILE)
    await database.open()
    try:
        portal_level = await database.run(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    finally:
        await database.close()
    store = Store(data_dir / db.DB_FILE)
    with store._connect() as conn:
        rx_level = conn.execute("PRAGMA synchronous").fetchone()[0]
    assert (portal_level, rx_level) == (2, 2)  # 2 = FULL: the WAL is synced at every commit
