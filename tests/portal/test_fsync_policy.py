"""The fsync policy, seen from the kernel's side: with synchronous=FULL every prescription commit and every
consent commit syncs the WAL (fdatasync/fsync traced by strace; SQLite does it inside COMMIT, so before the
server answers); with NORMAL they do not.

This is the part of power-loss safety a test here can show (docs/reliability.md): that the acknowledged
write was handed to the disk with a flush. Whether the disk honours the flush is the hardware's part."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FEW, MORE = 2, 6
CHILD = """
import asyncio, sys
from pathlib import Path
from bench.commits import append_prescriptions, book_with_consent, sign_prescriptions
level, where, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
signed = sign_prescriptions(n, where)
append_prescriptions(where / "rx.db", level, signed)
asyncio.run(book_with_consent(where / "consent.db", level, n))
"""

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed "
                                "(scripts/install-system-deps.sh installs it)")


def wal_syncs(tmp_path: Path, level: str, commits: int) -> dict[str, int]:
    """How many times each database's WAL was synced while `commits` prescriptions and consents were written
    (setting up the databases and closing them sync too, the same number of times whatever `commits`)."""
    where = tmp_path / f"{level}-{commits}"
    where.mkdir()
    trace = subprocess.run(
        ["strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", sys.executable, "-c", CHILD, level, str(where),
         str(commits)], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert trace.returncode == 0, trace.stderr[-2000:]
    synced = re.findall(r"f(?:data)?sync\(\d+<([^>]+)>\)", trace.stderr)
    return {name: sum(1 for path in synced if path.endswith(f"/{name}-wal")) for name in ("rx.db", "consent.db")}


def added_syncs(tmp_path: Path, level: str) -> dict[str, int]:
    """WAL syncs that the MORE - FEW extra commits added."""
    few, more = wal_syncs(tmp_path, level, FEW), wal_syncs(tmp_path, level, MORE)
    return {name: more[name] - few[name] for name in few}


def test_full_syncs_the_wal_at_every_commit_and_normal_does_not(tmp_path):
    assert all(added >= MORE - FEW for added in added_syncs(tmp_path, "FULL").values())  # one per commit
    assert added_syncs(tmp_path, "NORMAL") == {"rx.db": 0, "consent.db": 0}  # synced only at checkpoints
