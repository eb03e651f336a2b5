"""Online backup of the data dir and restore into a fresh one (`vaidya admin backup DIR`, `restore DIR`).

A backup is a directory: each SQLite database copied with SQLite's backup API (a consistent snapshot taken
in one read transaction, while the server goes on writing), then every other file (the server secret that
seals the doctors' signing keys, uploaded reports) copied, and a `manifest.json` with each file's size and
SHA-256 and the row counts of the main tables. Databases are copied first: an upload's file is synced before
the row naming it is committed, so every upload the snapshot knows is already on disk when the files are
copied. Restore checks every hash, builds the new data dir beside the target and renames it into place, so
a failed restore leaves nothing half-written; it never replaces a data dir in use by a running server, and
replaces a stopped, non-empty one only when asked (the old one is kept aside, not deleted).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .datafiles import open_sqlite, private_dir, write_private

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
#: SQLite's side files: their content is inside the snapshot the backup API takes.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
#: Tables counted in the manifest and checked again after a restore.
COUNTED = ("patients", "doctors", "tokens", "consultations", "uploads", "audit_log", "rx_doctor_keys",
           "rx_versions", "rx_revocations", "rx_dispensations")


class BackupError(Exception):
    """The backup or restore cannot go ahead; nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    files: dict[str, dict[str, Any]]  # relative path → {"kind", "bytes", "sha256"}
    counts: dict[str, dict[str, int]]  # database file → table → rows
    created_at: str
    secret_note: str

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "created_at": self.created_at, "secret": self.secret_note,
                           "files": self.files, "counts": self.counts}, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, source: Path) -> Manifest:
        try:
            data = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(f"{source} is not a Vaidya backup: cannot read {MANIFEST} ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise BackupError(f"{source}: backup format {found!r}, this version reads {FORMAT}")
        try:
            files = {str(name): {"kind": e["kind"], "bytes": int(e["bytes"]), "sha256": str(e["sha256"])}
                     for name, e in data["files"].items()}
            return cls(files, data["counts"], str(data["created_at"]), str(data["secret"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"{source}/{MANIFEST} is malformed ({exc!r}): the backup is damaged") from None


def backup(data_dir: Path, dest: Path, *, secret_elsewhere: bool = False) -> Manifest:
    """Copy the data dir, while it may be in use, into `dest` (new or empty); return the manifest written."""
    if not (data_dir / "vaidya.db").is_file():
        raise BackupError(f"no database at {data_dir / 'vaidya.db'}: is the data dir right?")
    dest = dest.absolute()
    if dest.is_relative_to(data_dir.absolute()):
        raise BackupError(f"the backup cannot go inside the data dir ({data_dir})")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: back up into a new or empty directory")
    private_dir(dest)
    os.chmod(dest, 0o700)
    sources = _walk(data_dir)
    files: dict[str, dict[str, Any]] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in (n for n in sources if _is_sqlite(data_dir / n)):  # databases first (see the module doc)
        _snapshot(data_dir / name, dest / name)
        counts[name] = table_counts(dest / name)
        files[name] = _entry(dest / name, "sqlite")
    for name in (n for n in _walk(data_dir) if n not in files and not _is_sqlite(data_dir / n)):
        try:
            content = (data_dir / name).read_bytes()
        except FileNotFoundError:  # removed meanwhile (a demo credentials rewrite)
            continue
        write_private(dest / name, content)
        files[name] = _entry(dest / name, "file")
    if secret_elsewhere:
        note = ("not in the data dir: it comes from VAIDYA_SECRET or the config's `secret`; keep it with this "
                "backup, the doctors' signing keys open only with it")
    else:
        note = "secret.key, in this backup" if "secret.key" in files else "none in the data dir"
    manifest = Manifest(files, counts, datetime.now(UTC).isoformat(timespec="seconds"), note)
    write_private(dest / MANIFEST, manifest.to_json().encode())
    _sync_dir(dest)
    return manifest


def restore(source: Path, data_dir: Path, *, replace: bool = False) -> tuple[Manifest, Path | None]:
    """Check the backup's hashes and rebuild `data_dir` from it; return the manifest and where a replaced data
    dir was moved (None if the target was new or empty)."""
    manifest = verify(source)
    if (data_dir / "vaidya.db").exists() and in_use(data_dir / "vaidya.db"):
        raise BackupError(f"the database in {data_dir} is in use by a running server: stop it first")
    occupied = data_dir.exists() and any(data_dir.iterdir())
    if occupied and not replace:
        raise BackupError(f"{data_dir} is not empty: restore into a new data dir, or pass --replace "
                          "(the current one is moved aside, not deleted)")
    staging = data_dir.with_name(f"{data_dir.name}.restoring-{os.getpid()}")
    if staging.exists():
        raise BackupError(f"{staging} exists (an earlier restore was interrupted): remove it first")
    try:
        _rebuild(source, manifest, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    aside = None
    if data_dir.exists():
        if occupied:
            aside = data_dir.with_name(f"{data_dir.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
            os.rename(data_dir, aside)
        else:
            data_dir.rmdir()
    os.rename(staging, data_dir)
    _sync_dir(data_dir.parent)
    return manifest, aside


def _rebuild(source: Path, manifest: Manifest, staging: Path) -> None:
    private_dir(staging)
    for name, entry in sorted(manifest.files.items()):
        if entry["kind"] == "sqlite":
            _snapshot(source / name, staging / name)
            found = table_counts(staging / name)
            if found != manifest.counts.get(name, {}):
                raise BackupError(f"{name}: rows after restore {found} differ from the backup's {manifest.counts[name]}")
        else:
            write_private(staging / name, (source / name).read_bytes())
    _sync_dir(staging)


def verify(source: Path) -> Manifest:
    """The backup's manifest, once every file it lists is there with its size and SHA-256, and every
    database passes SQLite's integrity check."""
    manifest = Manifest.read(source)
    for name, entry in manifest.files.items():
        path = source / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupError(f"the manifest names a path outside the backup: {name}")
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if _entry(path, entry["kind"]) != entry:
            raise BackupError(f"{name} differs from the manifest (size or SHA-256): the backup is damaged")
        if entry["kind"] == "sqlite":
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                conn.close()
            if result != "ok":
                raise BackupError(f"{name} fails SQLite's integrity check: {result}")
    return manifest


def in_use(db_path: Path) -> bool:
    """Whether another connection (a running server) holds the database open.

    A connection in WAL mode keeps a shared lock while open; an exclusive lock is refused while it does."""
    conn = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def table_counts(db_path: Path) -> dict[str, int]:
    """Rows in each of COUNTED that the database has."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED if t in present}
    finally:
        conn.close()


def _snapshot(source: Path, dest: Path) -> None:
    """Copy one database with the backup API, in one step (one read transaction: a consistent snapshot)."""
    src = sqlite3.connect(source, timeout=10.0)  # not mode=ro: a WAL reader may need to create the -shm
    dst = open_sqlite(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _walk(root: Path) -> list[str]:
    """Regular files under `root` as relative paths, SQLite's side files left out."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(SIDE_SUFFIXES):
            found.append(str(path.relative_to(root)))
    return found


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _entry(path: Path, kind: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"kind": kind, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
