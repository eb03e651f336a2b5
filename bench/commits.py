"""`vaidya-bench commits`: what `synchronous=FULL` costs against NORMAL, on the records' real write paths.

Two write paths, each N single-row transactions, the two sync levels alternating in one invocation:
- `prescription`: `rx.store.Store.append` of prescriptions signed beforehand (signing is not timed), one
  connection per call as the server does, while another connection holds the file open as the portal's
  does in the server (otherwise every close is the last one, which checkpoints and syncs at any level);
- `consent`: one transaction on the portal's database thread (`portal.db.Database.run`) booking a token
  with recorded consent and writing its audit entry, as a health worker's booking does.
The database lives in `--dir` (default: a fresh directory under the current one, so on the disk the data
dir would use: a tmpfs would sync for free and measure nothing). Figures: median per-commit milliseconds of
each run, then their median with min–max over the runs, and FULL ÷ NORMAL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portal import db, storage
from portal.datafiles import Sync
from portal.models import Consent, ConsentHow, Sex
from rx.demo import sample_prescription
from rx.model import Signed
from rx.service import RxService
from rx.signing import NewKey
from rx.store import Store

from .report import save_json, spread

LEVELS: tuple[Sync, ...] = ("NORMAL", "FULL")
SECRET = "bench-commits-" + "s" * 40


def sign_prescriptions(n: int, scratch: Path) -> list[Signed]:
    service = RxService(Store(scratch / "sign.db"), SECRET)
    return [service.issue(sample_prescription("en")) for _ in range(n)]


def append_prescriptions(path: Path, level: Sync, signed: list[Signed]) -> list[float]:
    store = Store(path, synchronous=level)
    doctor = signed[0].prescription.doctor  # the signing key must be registered first (a foreign key)
    key = Store(path.parent / "sign.db").key(signed[0].key_id)
    assert key is not None
    store.add_key(doctor, NewKey(key.key_id, key.public_key, key.sealed_private_key), key.created_at)
    held = db.connect(path)  # as the portal's connection does in the server: else each close checkpoints
    try:
        times = []
        for one in signed:
            t0 = time.perf_counter()
            store.append(one)
            times.append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        held.close()


async def book_with_consent(path: Path, level: Sync, n: int) -> list[float]:
    database = db.Database(path, synchronous=level)
    await database.open()
    try:
        opd, patient = await database.run(lambda conn: (
            storage.add_opd(conn, code="GEN", name="General OPD"),
            storage.add_patient(conn, mobile="9800000001", name="Sita Devi", sex=Sex.FEMALE, state="Karnataka",
                                district="Mysuru", language="hi", age_years=42)))

        def book(conn: Any) -> None:
            token = storage.add_token(conn, opd=opd, patient_id=patient.id, day=dt.date.today(), language="hi",
                                      consent=Consent(who=patient.name, at=time.time(), how=ConsentHow.VERBAL))
            storage.audit(conn, "hw:1", "book", f"token:{token.id}")

        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await database.run(book)
            times.append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        await database.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="vaidya-bench-commits-", dir=args.dir))
    try:
        signed = sign_prescriptions(args.n * args.runs * len(LEVELS), base)
        per_run: dict[str, dict[str, list[float]]] = {path: {level: [] for level in LEVELS}
                                                      for path in ("prescription", "consent")}
        for r in range(args.runs):
            for level in LEVELS:  # alternate, so the machine's drift hits both alike
                batch = signed[(r * len(LEVELS) + LEVELS.index(level)) * args.n:][:args.n]
                rx_db = base / f"rx-{r}-{level}.db"
                per_run["prescription"][level].append(statistics.median(append_prescriptions(rx_db, level, batch)))
                portal_db = base / f"portal-{r}-{level}.db"
                per_run["consent"][level].append(statistics.median(asyncio.run(book_with_consent(portal_db, level, args.n))))
        report: dict[str, Any] = {"commits_per_run": args.n, "runs": args.runs, "dir": str(base.parent.resolve())}
        for path, levels in per_run.items():
            report[path] = {f"{level.lower()}_ms": spread(values, 3) for level, values in levels.items()}
            report[path]["full_over_normal"] = round(
                statistics.median(levels["FULL"]) / statistics.median(levels["NORMAL"]), 2)
        return report
    finally:
        shutil.rmtree(base, ignore_errors=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("commits", help="what synchronous=FULL costs per prescription and consent commit, "
                                       "against NORMAL")
    p.add_argument("--n", type=int, default=200, help="commits per write path, level and run (default 200)")
    p.add_argument("--runs", type=int, default=3, help="runs of each level, alternating (default 3)")
    p.add_argument("--dir", type=Path, default=Path("."),
                   help="where the scratch databases go: the data dir's disk (default: the current directory)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=main_commits)


def main_commits(args: argparse.Namespace) -> int:
    if args.n < 1 or args.runs < 1:
        print("vaidya-bench commits: --n and --runs must be >= 1", file=sys.stderr)
        return 2
    print(save_json(run(args), args.json))
    return 0
