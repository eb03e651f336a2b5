"""`vaidya rx …`: a sample prescription in any language, offline verification, and the key registry."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .model import LANGUAGES

DEMO_BASE_URL = "http://127.0.0.1:8080"


def register(subparsers: argparse._SubParsersAction) -> None:
    rx = subparsers.add_parser("rx", help="e-prescriptions: sample, verify, export the public-key registry")
    sub = rx.add_subparsers(dest="rx_command", required=True)

    demo = sub.add_parser("demo", help="write a complete sample prescription (PDF, FHIR bundle, QR, keys)")
    demo.add_argument("--lang", choices=LANGUAGES, default="hi", help="the patient's language (default hi)")
    demo.add_argument("--out", type=Path, required=True, help="folder to write into (created if missing)")
    demo.add_argument("--base-url", default=DEMO_BASE_URL, help="verification URL base printed in the QR")
    demo.set_defaults(func=cmd_demo)

    verify = sub.add_parser("verify", help="check a prescription PDF or QR text against a key registry, and list "
                            "the medicines it signs (to compare with the paper)")
    verify.add_argument("--keys", type=Path, required=True, help="registry from `vaidya rx export-keys`")
    what = verify.add_mutually_exclusive_group(required=True)
    what.add_argument("pdf", nargs="?", type=Path, help="a prescription PDF")
    what.add_argument("--qr", help="the text of the QR code (URL or RX1 payload)")
    verify.set_defaults(func=cmd_verify)

    export = sub.add_parser("export-keys", help="print the doctors' public-key registry as JSON")
    export.add_argument("--config", type=Path, help="TOML configuration file")
    export.add_argument("--data-dir", type=Path, help="where vaidya.db lives (default: ./var)")
    export.add_argument("--out", type=Path, help="write to this file instead of standard output")
    export.set_defaults(func=cmd_export_keys)


def cmd_demo(args: argparse.Namespace) -> int:
    import secrets

    from .demo import sample_prescription
    from .fhir import prescription_bundle
    from .fonts import FontMissing
    from .pdf import render_pdf
    from .qr import payload_for, verification_url
    from .service import RxService

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaidya-rx-demo-") as scratch:
        service = RxService.open(Path(scratch), secrets.token_urlsafe(48))
        signed = service.issue(sample_prescription(args.lang))
        try:
            pdf = render_pdf(signed, args.base_url)
        except FontMissing as exc:
            print(f"vaidya rx demo: {exc}", file=sys.stderr)
            return 2
        (out / "prescription.pdf").write_bytes(pdf)
        bundle = prescription_bundle(signed, pdf, args.base_url)
        (out / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "qr.txt").write_text(verification_url(args.base_url, payload_for(signed)), encoding="utf-8")
        (out / "keys.json").write_text(json.dumps(service.registry(), indent=2), encoding="utf-8")
    print(f"wrote {out}/prescription.pdf, bundle.json, qr.txt, keys.json "
          f"(prescription {signed.prescription.id}, language {args.lang})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .localtime import DEFAULT_ZONE, local_date_text
    from .qr import lines_of
    from .verify import SIGNED_LINES_HEADING, verify_offline, verify_pdf_offline

    try:
        registry = json.loads(args.keys.read_text(encoding="utf-8"))
        if args.pdf is not None:
            verdict = verify_pdf_offline(args.pdf.read_bytes(), registry)
        else:
            verdict = verify_offline(args.qr, registry)
    except (OSError, ValueError, KeyError) as exc:
        print(f"vaidya rx verify: {exc}", file=sys.stderr)
        return 2
    print(f"{verdict.status.value.upper()}: {verdict.reason}")
    if verdict.rx_id:
        print(f"prescription {verdict.rx_id}, version {verdict.version}")
    if verdict.doctor_name:
        print(f"signed by {verdict.doctor_name}, registration {verdict.registration_number} ({verdict.council})")
    rx = verdict.prescription
    if rx is not None and verdict.ok:  # no diagnosis: a pharmacist needs what to dispense, to whom
        print(f"patient {rx.patient.name}, {rx.patient.age_years} years; "
              f"dated {local_date_text(rx.issued_at)} ({DEFAULT_ZONE})")
    lines = verdict.signed_lines or (lines_of(rx) if rx is not None else ())
    if verdict.ok and lines:
        print(f"{SIGNED_LINES_HEADING}:")
        for n, line in enumerate(lines, start=1):
            print(f"  {n}. {line.text()}")
    return 0 if verdict.ok else 1


def cmd_export_keys(args: argparse.Namespace) -> int:
    from signaling.config import load_config

    from .registry import export_registry
    from .service import utc_now
    from .store import Store

    config = load_config(args.config, {"data_dir": args.data_dir})
    path = config.data_dir / "vaidya.db"
    if not path.exists():
        print(f"vaidya rx export-keys: no database at {path}", file=sys.stderr)
        return 2
    text = json.dumps(export_registry(Store(path), utc_now()), indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0
