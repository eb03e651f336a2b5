"""`vaidya admin backup` while a real server writes prescriptions, `vaidya admin restore` into a fresh data dir:
every prescription verifies, counts match, the doctor's sealed key opens again, uploads come back intact;
a live or non-empty data dir and a damaged backup are refused with nothing changed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from portal import db
from portal.backup import table_counts
from portal.uploads import Uploads
from tests.helpers.prescribing import Doctor, integrity, prepare_clinic, unverified
from tests.helpers.server import ServerProcess

from .test_data_at_rest import PNG, too_open

#: The server keeps its secret in the data dir (secret.key), as a deployment without VAIDYA_SECRET does.
SECRET_IN_DATA_DIR = {"VAIDYA_SECRET": ""}


async def vaidya(*args: str) -> tuple[int, str]:
    """Run the real `vaidya` command in a child process (without blocking the writers)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "signaling.cli", *args,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode()


async def add_upload(data_dir: Path, patient_id: str) -> str:
    database = db.Database(data_dir / db.DB_FILE)
    await database.open()
    try:
        upload = await Uploads(database, data_dir).save(patient_id, None, "report.png", PNG, "patient")
    finally:
        await database.close()
    return upload.stored_name


def column(data_dir: Path, query: str) -> list[str]:
    conn = sqlite3.connect(data_dir / db.DB_FILE)
    try:
        return [r[0] for r in conn.execute(query)]
    finally:
        conn.close()


def prescription_ids(data_dir: Path) -> list[str]:
    return column(data_dir, "SELECT rx_id FROM rx_versions ORDER BY rx_id")


def key_ids(data_dir: Path) -> list[str]:
    return column(data_dir, "SELECT key_id FROM rx_doctor_keys")


async def test_a_backup_taken_while_prescriptions_are_written_restores_whole_and_verifiable(tmp_path):
    data_dir, saved, fresh = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    clinic = prepare_clinic(data_dir)
    stored_name = await add_upload(data_dir, clinic.patient_a)
    server = ServerProcess(data_dir, extra_env=SECRET_IN_DATA_DIR)
    try:
        doctor = Doctor(clinic.video_consult, secret=(data_dir / "secret.key").read_text().strip())
        async with aiohttp.ClientSession() as http:
            await doctor.log_in(http, server.url)
            before = [await doctor.issue(http, server.url) for _ in range(3)]
            assert all(before)
            during: list[str | None] = []
            writing = True

            async def keep_writing() -> None:
                while writing:  # paced under the portal's POST budget (60 at once, then 2/s)
                    during.append(await doctor.issue(http, server.url))
                    await asyncio.sleep(0.05)

            writer = asyncio.create_task(keep_writing())
            await asyncio.sleep(0.3)
            status, out = await vaidya("admin", "backup", str(saved), "--data-dir", str(data_dir))
            await asyncio.sleep(0.3)
            writing = False
            await writer
            assert status == 0, out
            assert len([i for i in during if i]) >= 2, "the server was not being written during the backup"

            refused, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(data_dir), "--replace")
            assert refused == 1 and "in use by a running server" in out
            assert (data_dir / "secret.key").exists() and not list(tmp_path.glob("data.*"))
    finally:
        server.stop()

    manifest = json.loads((saved / "manifest.json").read_text())
    assert {"vaidya.db", "secret.key", f"uploads/{stored_name}"} <= set(manifest["files"])
    assert too_open(saved) == {}
    backed_up = manifest["counts"]["vaidya.db"]["rx_versions"]
    assert len(before) <= backed_up <= len(before) + len(during)

    status, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(fresh))
    assert status == 0, out
    restored = prescription_ids(fresh)
    assert len(restored) == backed_up and set(before) <= set(restored)
    assert unverified(fresh, restored) == {}
    assert integrity(fresh / db.DB_FILE) == "ok"
    assert hashlib.sha256((fresh / "uploads" / stored_name).read_bytes()).digest() == hashlib.sha256(PNG).digest()
    assert (fresh / "secret.key").read_bytes() == (data_dir / "secret.key").read_bytes()
    assert too_open(fresh) == {}

    # The restored server opens the doctor's sealed key (same secret) and her session still holds.
    server = ServerProcess(fresh, extra_env=SECRET_IN_DATA_DIR)
    try:
        async with aiohttp.ClientSession() as http:
            assert await doctor.issue(http, server.url)
    finally:
        server.stop()
    assert len(key_ids(data_dir)) == 1 and key_ids(fresh) == key_ids(data_dir)  # no new key was needed


async def test_restore_refuses_a_damaged_backup_and_a_non_empty_data_dir_changing_nothing(tmp_path):
    data_dir, saved, target = tmp_path / "data", tmp_path / "backup", tmp_path / "target"
    clinic = prepare_clinic(data_dir)
    stored_name = await add_upload(data_dir, clinic.patient_a)
    status, out = await vaidya("admin", "backup", str(saved), "--data-dir", str(data_dir))
    assert status == 0, out
    assert "secret" in out

    target.mkdir()
    (target / "notes.txt").write_text("someone else's")
    status, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(target))
    assert status == 1 and "not empty" in out
    assert [p.name for p in target.iterdir()] == ["notes.txt"]

    status, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(target), "--replace")
    assert status == 0, out
    kept = list(tmp_path.glob("target.replaced-*"))
    assert len(kept) == 1 and (kept[0] / "notes.txt").read_text() == "someone else's"
    assert table_counts(target / db.DB_FILE) == table_counts(data_dir / db.DB_FILE)

    upload = saved / "uploads" / stored_name
    upload.write_bytes(upload.read_bytes()[:-1] + b"\x01")
    status, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(tmp_path / "other"))
    assert status == 1 and "damaged" in out and not (tmp_path / "other").exists()
    assert not list(tmp_path.glob("other.*"))


@pytest.mark.parametrize("where", ["inside", "non-empty"])
async def test_backup_refuses_a_destination_inside_the_data_dir_or_not_empty(tmp_path, where):
    data_dir = tmp_path / "data"
    prepare_clinic(data_dir)
    dest = data_dir / "copy" if where == "inside" else tmp_path / "full"
    if where == "non-empty":
        dest.mkdir()
        (dest / "x").write_text("x")
    status, out = await vaidya("admin", "backup", str(dest), "--data-dir", str(data_dir))
    assert status == 1, out
    assert not (data_dir / "copy").exists()


@pytest.mark.parametrize("manifest", ["", "[]", '{"format": 1}', '{"format": 1, "files": {"x": {}}, "counts": {},'
                                      ' "created_at": "", "secret": ""}', '{"format": 99}'])
async def test_restore_refuses_a_missing_or_malformed_manifest_with_one_line(tmp_path, manifest):
    saved = tmp_path / "backup"
    saved.mkdir()
    if manifest:
        (saved / "manifest.json").write_text(manifest)
    status, out = await vaidya("admin", "restore", str(saved), "--data-dir", str(tmp_path / "data"))
    assert status == 1 and out.startswith("vaidya admin: ") and "Traceback" not in out, out
    assert not (tmp_path / "data").exists()
