"""The data dir is private to the server's user: directories 0700, files 0600, whoever creates them first.

Patients, mobile numbers, sealed doctor keys and the audit log live there. Every opener (the portal's
database, the Rx store, the secret, uploads, the admin commands) creates through these functions, which set
the mode explicitly after creating, so no umask can widen it. SQLite gives its `-wal` and `-shm` side files
the mode of the database file, so a 0600 database keeps them 0600. `tighten` narrows what an older version
(or a hand-made directory) left too open, once at start, with one log line per change.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Sync = Literal["FULL", "NORMAL"]
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) if needed; a directory created here is 0700."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file at `path` unless one exists; True if it was created here."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def write_private(path: Path, data: bytes) -> None:
    """Write a new 0600 file (refuses to replace one: the caller picked a fresh name), synced to disk."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def open_sqlite(path: Path, *, check_same_thread: bool = True, synchronous: Sync = "FULL") -> sqlite3.Connection:
    """A connection to a database file created 0600, in WAL mode with `synchronous=FULL`.

    FULL syncs the WAL at every commit, so a transaction the server acknowledged (a prescription, a
    consent, an audit entry) survives a power cut, not only a process crash (NORMAL would only sync at
    checkpoints). NORMAL is there for `vaidya-bench commits`, which measures what FULL costs
    (docs/benchmarks.md).
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    create_private_file(path)
    conn = sqlite3.connect(path, check_same_thread=check_same_thread, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def tighten(data_dir: Path) -> list[Path]:
    """Narrow the data dir to 0700 and everything in it to 0700/0600; return what was changed (each logged)."""
    changed: list[Path] = []
    if not data_dir.is_dir():
        return changed
    for root, dirs, files in os.walk(data_dir):
        for path, want in [(Path(root), DIR_MODE)] + [(Path(root) / name, FILE_MODE) for name in files]:
            try:
                info = path.lstat()
            except FileNotFoundError:  # a side file SQLite removed meanwhile
                continue
            if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) & ~want == 0:
                continue
            os.chmod(path, stat.S_IMODE(info.st_mode) & want)
            log.warning("data dir: %s was mode %o, readable by others: now %o", path, stat.S_IMODE(info.st_mode),
                        stat.S_IMODE(info.st_mode) & want)
            changed.append(path)
    return changed
