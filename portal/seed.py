"""Demo data for `make serve`: a doctor, a general OPD, a hub OPD, a health worker and a pharmacist, if absent.

Passwords are generated at the first seed (never stored in the repository), kept hashed in the database,
and a copy in `data_dir/demo-credentials.txt` (mode 0600) so each later start can print them again.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from signaling.config import Config

from . import pharmacists, security
from . import storage as st
from .datafiles import write_private
from .db import Database
from .models import OpdKind

CREDENTIALS_FILE = "demo-credentials.txt"
DEMO_DOCTOR = "demo-doctor"
DEMO_HEALTH_WORKER = "demo-hw"
DEMO_PHARMACIST = "demo-pharmacist"


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _write_credentials(path: Path, creds: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    lines = ["# Vaidya demo accounts (development only)"] + [f"{k} = {v}" for k, v in creds.items()]
    write_private(tmp, ("\n".join(lines) + "\n").encode())
    os.replace(tmp, path)


def seed_into(conn: sqlite3.Connection, creds: dict[str, str]) -> dict[str, str]:
    """Create whatever demo records are missing; return the credentials (new passwords added)."""
    gen = st.find_opd(conn, "GEN") or st.add_opd(conn, code="GEN", name="General OPD", kind=OpdKind.GENERAL)
    hub = st.find_opd(conn, "MED") or st.add_opd(
        conn, code="MED", name="Medicine (hub)", kind=OpdKind.SPECIALITY, speciality="general medicine", is_hub=True
    )
    doctor = st.find_doctor(conn, DEMO_DOCTOR)
    if doctor is None or DEMO_DOCTOR not in creds:
        creds[DEMO_DOCTOR] = security.generate_password()
        if doctor is None:
            doctor = st.add_doctor(
                conn, username=DEMO_DOCTOR, name="Dr. Demo Sharma", qualification="MBBS, MD (General Medicine)",
                # Shaped like a real council number (placeholders are refused at signing), as in `vaidya rx demo`.
                registration_number="KMC-48213", council="Karnataka Medical Council",
                password_hash=security.hash_password(creds[DEMO_DOCTOR]), languages=["en", "hi", "kn"],
                specialities=["general medicine"],
            )
        else:
            conn.execute("UPDATE doctors SET password_hash = ? WHERE id = ?",
                         (security.hash_password(creds[DEMO_DOCTOR]), doctor.id))
    st.assign_doctor_to_opd(conn, doctor.id, gen.id)
    st.assign_doctor_to_opd(conn, doctor.id, hub.id)
    hw = st.find_health_worker(conn, DEMO_HEALTH_WORKER)
    if hw is None or DEMO_HEALTH_WORKER not in creds:
        creds[DEMO_HEALTH_WORKER] = security.generate_password()
        if hw is None:
            st.add_health_worker(conn, username=DEMO_HEALTH_WORKER, name="Demo Health Worker",
                                 facility="Demo PHC (spoke)",
                                 password_hash=security.hash_password(creds[DEMO_HEALTH_WORKER]))
        else:
            conn.execute("UPDATE health_workers SET password_hash = ? WHERE id = ?",
                         (security.hash_password(creds[DEMO_HEALTH_WORKER]), hw.id))
    chemist = pharmacists.find_pharmacist(conn, DEMO_PHARMACIST)
    if chemist is None or DEMO_PHARMACIST not in creds:
        creds[DEMO_PHARMACIST] = security.generate_password()
        if chemist is None:
            pharmacists.add_pharmacist(conn, username=DEMO_PHARMACIST, name="Demo Pharmacist",
                                       licence_number="KSPC-22310", pharmacy="Demo Jan Aushadhi Kendra",
                                       password_hash=security.hash_password(creds[DEMO_PHARMACIST]))
        else:
            conn.execute("UPDATE pharmacists SET password_hash = ? WHERE id = ?",
                         (security.hash_password(creds[DEMO_PHARMACIST]), chemist.id))
    return creds


async def seed_demo(db: Database, config: Config) -> dict[str, str]:
    path = config.data_dir / CREDENTIALS_FILE
    creds = await db.run(lambda conn: seed_into(conn, _read_credentials(path)))
    _write_credentials(path, creds)
    login = f"{config.base_url}/portal/staff/login"
    print(f"Demo accounts (log in at {login}):", flush=True)
    print(f"  doctor:        user {DEMO_DOCTOR}  password {creds[DEMO_DOCTOR]}", flush=True)
    print(f"  health worker: user {DEMO_HEALTH_WORKER}  password {creds[DEMO_HEALTH_WORKER]}", flush=True)
    print(f"  pharmacist:    user {DEMO_PHARMACIST}  password {creds[DEMO_PHARMACIST]}", flush=True)
    print(f"Patients register at {config.base_url}/portal/", flush=True)
    return creds
