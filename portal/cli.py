"""`vaidya admin add-doctor | add-opd | add-health-worker | add-pharmacist | list`: set up a clinic from the shell;
`vaidya admin backup DIR | restore DIR`: copy the data dir while the server runs, and rebuild one from a copy.

Passwords never go on the command line (other users could read them from the process list): either
`--password-stdin` reads one line, or a random password is generated and printed once.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from signaling.config import ConfigError, load_config

from . import admin, db, security
from .backup import BackupError, backup, restore

T = TypeVar("T")


def _open(args: argparse.Namespace) -> sqlite3.Connection:
    config = load_config(args.config, {"data_dir": args.data_dir})
    conn = db.connect(config.data_dir / db.DB_FILE)
    db.migrate(conn)
    return conn


def _write(args: argparse.Namespace, fn: Callable[[Any], T]) -> T:
    conn = _open(args)
    try:
        return db.in_transaction(conn, fn)
    finally:
        conn.close()


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password and whether it was generated here (then it must be shown)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return security.generate_password(), True


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _show_password(username: str, password: str, generated: bool) -> None:
    if generated:
        print(f"password for {username}: {password}")
        print("(shown once: give it to them in person; it is stored only as an argon2 hash)")


def cmd_add_opd(args: argparse.Namespace) -> int:
    new = admin.NewOpd(code=args.code, name=args.name, speciality=args.speciality or "", hub=args.hub,
                       opens=args.opens, closes=args.closes, capacity=args.capacity,
                       consult_limit_min=args.consult_limit)
    opd = _write(args, lambda conn: admin.add_opd(conn, new))
    print(f"added OPD {opd.code} (id {opd.id}): {opd.name}{' [hub]' if opd.is_hub else ''}")
    return 0


def cmd_add_doctor(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    doctor = _write(args, lambda conn: admin.add_doctor(
        conn, username=args.username, password=password, name=args.name, qualification=args.qualification,
        registration_number=args.registration_number, council=args.council, languages=_csv(args.languages),
        specialities=_csv(args.specialities or ""), opd_codes=args.opd or [], mobile=args.mobile or "",
    ))
    print(f"added doctor {doctor.username} (id {doctor.id}): {doctor.name}, {doctor.qualification}, "
          f"reg. no. {doctor.registration_number} ({doctor.council})")
    _show_password(doctor.username, password, generated)
    return 0


def cmd_add_health_worker(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    hw = _write(args, lambda conn: admin.add_health_worker(
        conn, username=args.username, password=password, name=args.name, facility=args.facility,
        mobile=args.mobile or "",
    ))
    print(f"added health worker {hw.username} (id {hw.id}): {hw.name}, {hw.facility}")
    _show_password(hw.username, password, generated)
    return 0


def cmd_add_pharmacist(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    chemist = _write(args, lambda conn: admin.add_pharmacist(
        conn, username=args.username, password=password, name=args.name, licence_number=args.licence_number,
        pharmacy=args.pharmacy, mobile=args.mobile or "",
    ))
    print(f"added pharmacist {chemist.username} (id {chemist.id}): {chemist.name}, licence {chemist.licence_number}, "
          f"{chemist.pharmacy}")
    _show_password(chemist.username, password, generated)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    conn = _open(args)
    try:
        data = admin.overview(conn)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print("OPDs:")
    for o in data["opds"]:
        hub = " hub" if o["is_hub"] else ""
        print(f"  {o['code']:<6} {o['name']} ({o['kind']}{hub}, {o['opens']}-{o['closes']}, {o['capacity']}/day)")
    print("Doctors:")
    for d in data["doctors"]:
        state = "" if d["active"] else " (inactive)"
        print(f"  {d['username']:<16} {d['name']}, reg. {d['registration_number']}; speaks "
              f"{','.join(d['languages'])}; OPDs {','.join(d['opds']) or '-'}{state}")
    print("Health workers:")
    for h in data["health_workers"]:
        print(f"  {h['username']:<16} {h['name']} at {h['facility']}")
    print("Pharmacists:")
    for p in data["pharmacists"]:
        print(f"  {p['username']:<16} {p['name']}, licence {p['licence_number']}, {p['pharmacy']}")
    return 0


def _summary(counts: dict[str, dict[str, int]]) -> str:
    rows = counts.get(db.DB_FILE, {})
    return (f"{rows.get('patients', 0)} patients, {rows.get('consultations', 0)} consultations, "
            f"{rows.get('rx_versions', 0)} signed prescription versions, {rows.get('audit_log', 0)} audit entries")


def cmd_backup(args: argparse.Namespace) -> int:
    config = load_config(args.config, {"data_dir": args.data_dir})
    manifest = backup(config.data_dir, args.dir, secret_elsewhere=bool(config.secret))
    print(f"backed up {len(manifest.files)} files from {config.data_dir} into {args.dir}: {_summary(manifest.counts)}")
    print(f"server secret: {manifest.secret_note}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    config = load_config(args.config, {"data_dir": args.data_dir})
    manifest, aside = restore(args.dir, config.data_dir, replace=args.replace)
    print(f"restored {len(manifest.files)} files (backup of {manifest.created_at}) into {config.data_dir}: "
          f"{_summary(manifest.counts)}; every hash and row count checked")
    if aside is not None:
        print(f"the data dir it replaced is kept at {aside}")
    print(f"server secret: {manifest.secret_note}")
    return 0


def _guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn a refused argument into one clear line on stderr and exit status 1 (nothing was written)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (admin.AdminError, BackupError, ConfigError) as exc:
            print(f"vaidya admin: {exc}", file=sys.stderr)
            return 1

    return run


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML configuration file")
    p.add_argument("--data-dir", type=Path, help="where the database lives (default: ./var)")


def _staff_parser(sub: argparse._SubParsersAction, command: str, help: str) -> argparse.ArgumentParser:
    """A subcommand that adds someone who logs in: name, user name, password source, mobile."""
    p = sub.add_parser(command, help=help)
    _common(p)
    p.add_argument("--name", required=True)
    p.add_argument("--username", required=True, help="login name: lower-case letters, digits, . _ -")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from one line of standard input (else one is generated and printed)")
    p.add_argument("--mobile", help="contact number (optional)")
    return p


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `vaidya admin …` to the main command."""
    admin_parser = subparsers.add_parser(
        "admin", help="add doctors, OPDs, health workers and pharmacists; list them; back up and restore the data dir")
    sub = admin_parser.add_subparsers(dest="admin_command", required=True)

    opd = sub.add_parser("add-opd", help="add an OPD (general, speciality, or a hub taking referrals)")
    _common(opd)
    opd.add_argument("--code", required=True, help="2-6 letters that start each token number, e.g. GEN")
    opd.add_argument("--name", required=True)
    opd.add_argument("--speciality", help="makes it a speciality OPD, e.g. cardiology")
    opd.add_argument("--hub", action="store_true", help="health workers at spokes may refer patients here")
    opd.add_argument("--opens", default="00:00", help="HH:MM (default 00:00)")
    opd.add_argument("--closes", default="23:59", help="HH:MM (default 23:59)")
    opd.add_argument("--capacity", type=int, default=200, help="tokens per day (default 200)")
    opd.add_argument("--consult-limit", type=int, default=15, help="minutes per consultation (default 15)")
    opd.set_defaults(func=_guarded(cmd_add_opd))

    doctor = _staff_parser(sub, "add-doctor", "add a doctor who serves one or more OPDs")
    doctor.add_argument("--qualification", required=True, help='e.g. "MBBS, MD (Medicine)"')
    doctor.add_argument("--registration-number", required=True, help="State Medical Council / NMC number")
    doctor.add_argument("--council", required=True, help='e.g. "Karnataka Medical Council"')
    doctor.add_argument("--languages", required=True, help="codes the doctor speaks, e.g. hi,en,kn")
    doctor.add_argument("--specialities", help="comma-separated")
    doctor.add_argument("--opd", action="append", help="OPD code the doctor serves (repeat for several)")
    doctor.set_defaults(func=_guarded(cmd_add_doctor))

    hw = _staff_parser(sub, "add-health-worker", "add a health worker at a spoke facility")
    hw.add_argument("--facility", required=True, help='the spoke, e.g. "PHC Hosakote"')
    hw.set_defaults(func=_guarded(cmd_add_health_worker))

    chemist = _staff_parser(sub, "add-pharmacist", "add a registered pharmacist (may mark prescriptions dispensed)")
    chemist.add_argument("--licence-number", required=True, help="State Pharmacy Council registration number")
    chemist.add_argument("--pharmacy", required=True, help='where they dispense, e.g. "Jan Aushadhi Kendra, Hosakote"')
    chemist.set_defaults(func=_guarded(cmd_add_pharmacist))

    listing = sub.add_parser("list", help="list OPDs, doctors, health workers and pharmacists")
    _common(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=_guarded(cmd_list))

    saving = sub.add_parser("backup", help="copy the data dir (databases, server secret, uploads) into DIR, with a "
                            "manifest of hashes; safe while the server runs")
    _common(saving)
    saving.add_argument("dir", type=Path, metavar="DIR", help="a new or empty directory outside the data dir")
    saving.set_defaults(func=_guarded(cmd_backup))

    back = sub.add_parser("restore", help="rebuild the data dir from a backup made by `vaidya admin backup` "
                          "(the server must be stopped)")
    _common(back)
    back.add_argument("dir", type=Path, metavar="DIR", help="the backup directory (its manifest.json is checked)")
    back.add_argument("--replace", action="store_true",
                      help="restore over a non-empty data dir; the old one is moved aside to DATA_DIR.replaced-TIME")
    back.set_defaults(func=_guarded(cmd_restore))
