"""Canonical bytes of a prescription: the exact serialization the doctor's signature covers.

JSON with sorted keys, no insignificant whitespace, UTF-8 with text in Unicode NFC, times in UTC to the
second, decimals as text. The same prescription always gives the same bytes, and the bytes parse back
into the same prescription, so the stored copy is the signed copy.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from .model import (
    Consent,
    Consultation,
    DoctorSnapshot,
    EarlierConsult,
    Initiator,
    InPersonVisit,
    Medicine,
    Mode,
    PatientSnapshot,
    Prescription,
    Sex,
    Visit,
)

FORMAT = "vaidya-rx/1"
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class CanonicalError(ValueError):
    """Bytes that are not a canonical prescription."""


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise CanonicalError("times in a prescription must carry a time zone")
    return moment.astimezone(UTC).strftime(_TIME)


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


def to_dict(rx: Prescription) -> dict[str, Any]:
    """The prescription as plain JSON values (the signed content)."""
    c, d, p = rx.consultation, rx.doctor, rx.patient
    consent = None
    if c.consent is not None:
        consent = {"given_by": c.consent.given_by, "method": c.consent.method,
                   "recorded_at": utc_text(c.consent.recorded_at)}
    return {
        "format": FORMAT,
        "id": rx.id,
        "version": rx.version,
        "supersedes": rx.supersedes,
        "issued_at": utc_text(rx.issued_at),
        "consultation": {
            "id": c.id, "mode": c.mode.value, "visit": c.visit.value, "started_by": c.started_by.value,
            "consent": consent, "prior_in_person": c.prior_in_person,
            "started_at": utc_text(c.started_at) if c.started_at else None,
            **_follow_up_basis(c),
        },
        "doctor": {
            "id": d.id, "name": d.name, "qualification": d.qualification,
            "registration_number": d.registration_number, "council": d.council,
            "contact": d.contact, "facility": d.facility,
        },
        "patient": {
            "id": p.id, "name": p.name, "age_years": p.age_years, "age_confirmed": p.age_confirmed,
            "sex": p.sex.value, "language": p.language, "weight_kg": p.weight_kg, "height_cm": p.height_cm,
            "lmp": p.lmp.isoformat() if p.lmp else None, "accompanying_adult": p.accompanying_adult,
            "phone": p.phone,
        },
        "diagnosis": rx.diagnosis,
        "provisional": rx.provisional,
        "chief_complaints": rx.chief_complaints,
        "history": rx.history,
        "findings": rx.findings,
        "investigations": rx.investigations,
        "medicines": [
            {"generic_name": m.generic_name, "strength": m.strength, "form": m.form, "dose": m.dose,
             "frequency": m.frequency, "duration_days": m.duration_days, "route": m.route,
             "instructions": m.instructions, "free_text": m.free_text,
             "free_text_confirmed": m.free_text_confirmed, "refill": m.refill,
             **_set_only(warning_acknowledged=m.warning_acknowledged, quantity=m.quantity, repeats=m.repeats,
                         add_on_to=m.add_on_to)}
            for m in rx.medicines
        ],
        "advice": rx.advice,
        "follow_up": rx.follow_up.isoformat() if rx.follow_up else None,
    }


def _set_only(**fields: Any) -> dict[str, Any]:
    """Fields added after vaidya-rx/1 was first signed appear only when set, so the bytes of every
    prescription signed before them stay exactly as they were (and still verify)."""
    return {k: v for k, v in fields.items() if v not in (0, "", None)}


def _follow_up_basis(c: Consultation) -> dict[str, Any]:
    follows = {"id": c.follows.id, "on": c.follows.on.isoformat(), "mode": c.follows.mode.value} if c.follows else None
    in_person = None
    if c.in_person:
        in_person = {"on": c.in_person.on.isoformat(), "place": c.in_person.place,
                     "treatment": list(c.in_person.treatment)}
    return _set_only(follows=follows, in_person=in_person)


def _read_follow_up_basis(c: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "follows" in c:
        f = c["follows"]
        found["follows"] = EarlierConsult(f["id"], date.fromisoformat(f["on"]), Mode(f["mode"]))
    if "in_person" in c:
        v = c["in_person"]
        found["in_person"] = InPersonVisit(date.fromisoformat(v["on"]), v["place"], tuple(v["treatment"]))
    return found


def from_dict(data: dict[str, Any]) -> Prescription:
    """Inverse of `to_dict`; a missing or mistyped field is a CanonicalError."""
    try:
        if data.get("format") != FORMAT:
            raise CanonicalError(f"unknown prescription format {data.get('format')!r}")
        c, d, p = data["consultation"], data["doctor"], data["patient"]
        consent = None
        if c["consent"] is not None:
            consent = Consent(c["consent"]["given_by"], parse_utc(c["consent"]["recorded_at"]), c["consent"]["method"])
        return Prescription(
            id=data["id"], version=int(data["version"]), supersedes=data["supersedes"],
            issued_at=parse_utc(data["issued_at"]),
            consultation=Consultation(
                id=c["id"], mode=Mode(c["mode"]), visit=Visit(c["visit"]), started_by=Initiator(c["started_by"]),
                consent=consent, prior_in_person=bool(c["prior_in_person"]),
                started_at=parse_utc(c["started_at"]) if c["started_at"] else None, **_read_follow_up_basis(c),
            ),
            doctor=DoctorSnapshot(**d),
            patient=PatientSnapshot(
                id=p["id"], name=p["name"], age_years=p["age_years"], age_confirmed=p["age_confirmed"],
                sex=Sex(p["sex"]), language=p["language"], weight_kg=p["weight_kg"], height_cm=p["height_cm"],
                lmp=date.fromisoformat(p["lmp"]) if p["lmp"] else None,
                accompanying_adult=p["accompanying_adult"], phone=p["phone"],
            ),
            diagnosis=data["diagnosis"], provisional=data["provisional"],
            chief_complaints=data["chief_complaints"], history=data["history"], findings=data["findings"],
            investigations=data["investigations"],
            medicines=tuple(Medicine(**m) for m in data["medicines"]),
            advice=data["advice"],
            follow_up=date.fromisoformat(data["follow_up"]) if data["follow_up"] else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CanonicalError):
            raise
        raise CanonicalError(f"not a prescription: {exc!r}") from exc


def canonical_bytes(rx: Prescription) -> bytes:
    data = _nfc(to_dict(rx))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_canonical(blob: bytes) -> Prescription:
    """Parse signed bytes, refusing any that are not exactly canonical (so one content has one form)."""
    try:
        data = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalError(f"not canonical JSON: {exc}") from exc
    rx = from_dict(data)
    if canonical_bytes(rx) != blob:
        raise CanonicalError("bytes are not in canonical form")
    return rx


def digest(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()
