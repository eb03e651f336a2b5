"""Verification: is this printout a prescription a registered doctor signed, and is it still current?

Online (the /rx/verify page) the store also says whether the version was superseded or revoked and holds
the signed content. Offline (`vaidya rx verify`) the exported key registry checks the signature, and
knows the revocations and corrections made before the export; a PDF additionally carries its canonical bytes, checked by digest.
"""

from __future__ import annotations

import dataclasses
import enum
import io
from dataclasses import dataclass
from typing import Any

from .canonical import CanonicalError, digest, parse_canonical
from .model import Prescription
from .qr import QrError, QrPayload, SignedLine, decode, encode, lines_of, payload_for
from .registry import PublicKey, registry_keys, registry_ref
from .signing import signature_valid
from .store import Store

#: What the verifiers print above the signed lines: the paper must list exactly these, nothing more.
SIGNED_LINES_HEADING = ("Signed medicines: compare with the paper; a medicine printed on the paper but not "
                        "listed here was not prescribed")
PDF_CONTENT_NAME = "prescription.json"
PDF_QR_NAME = "verification.txt"


class Status(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str
    rx_id: str = ""
    version: int = 0
    doctor_name: str = ""
    registration_number: str = ""
    council: str = ""
    latest_version: int = 0
    prescription: Prescription | None = None
    #: The medicine lines the signature covers, read from the code itself (empty for RX1 codes): what the
    #: pharmacist compares with the paper.
    signed_lines: tuple[SignedLine, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is Status.VALID


def check_signature(payload: QrPayload, key: PublicKey | None) -> Verdict:
    """The signature over the QR statement, against the doctor's registered key."""
    if key is None:
        return Verdict(Status.INVALID, f"unknown signing key {payload.key_id}: not issued by this service",
                       payload.rx_id, payload.version)
    message = payload.statement()
    who = dict(doctor_name=key.doctor_name, registration_number=key.registration_number, council=key.council)
    if not signature_valid(key.public_key, message, payload.signature):
        # No doctor's name beside a failed signature: a forger may quote any real key ID.
        return Verdict(Status.INVALID, "the signature does not match: this code was altered or forged",
                       payload.rx_id, payload.version)
    return Verdict(Status.VALID, "signature valid", payload.rx_id, payload.version, **who,
                   signed_lines=payload.lines)


def _parse(text: str) -> QrPayload | Verdict:
    try:
        return decode(text)
    except (QrError, ValueError) as exc:
        return Verdict(Status.INVALID, str(exc))


def verify_online(text: str, store: Store) -> Verdict:
    """The verification page's answer: signature, stored content, then superseded or revoked."""
    payload = _parse(text)
    if isinstance(payload, Verdict):
        return payload
    record = store.key(payload.key_id)
    key = PublicKey(record.key_id, record.doctor_name, record.registration_number, record.council,
                    record.public_key) if record else None
    verdict = check_signature(payload, key)
    if not verdict.ok:
        return verdict
    signed = store.version(payload.rx_id, payload.version)
    if signed is None or signed.digest != payload.digest or signed.key_id != payload.key_id:
        return _with(verdict, Status.INVALID, "no prescription with this content was issued here")
    if payload.scheme == 2 and payload.lines != lines_of(signed.prescription):
        return _with(verdict, Status.INVALID, "the medicines in the code differ from the prescription on record")
    return status_of(verdict, store, signed.prescription)


def verify_id(rx_id: str, version: int | None, store: Store) -> Verdict:
    """What a pharmacist gets by typing the ID: the stored signature re-checked, then the status."""
    signed = store.latest(rx_id) if version is None else store.version(rx_id, version)
    if signed is None:
        return Verdict(Status.INVALID, "no prescription with this ID", rx_id, version or 0)
    return verify_online(encode(payload_for(signed)), store)


def status_of(verdict: Verdict, store: Store, rx: Prescription) -> Verdict:
    latest = store.latest(rx.id)
    latest_version = latest.prescription.version if latest else rx.version
    revocation = store.revocation(rx.id, rx.version)
    if revocation is not None:
        return _with(verdict, Status.REVOKED, f"revoked by the doctor: {revocation.reason}", rx, latest_version)
    if latest_version > rx.version:
        return _with(verdict, Status.SUPERSEDED,
                     f"superseded by version {latest_version}: dispense from the newest version only", rx, latest_version)
    return _with(verdict, Status.VALID, "valid: signed by the doctor below and still current", rx, latest_version)


def _with(verdict: Verdict, status: Status, reason: str, rx: Prescription | None = None, latest: int = 0) -> Verdict:
    return dataclasses.replace(verdict, status=status, reason=reason, latest_version=latest or verdict.version,
                               prescription=rx)


# Offline ------------------------------------------------------------------------------------------------
def verify_offline(text: str, registry: dict[str, Any], content: bytes | None = None) -> Verdict:
    """Check a QR payload against an exported registry; with `content`, check the signed bytes too."""
    payload = _parse(text)
    if isinstance(payload, Verdict):
        return payload
    verdict = check_signature(payload, registry_keys(registry).get(payload.key_id))
    if not verdict.ok:
        return verdict
    rx = None
    if content is not None:
        if digest(content) != payload.digest:
            return _with(verdict, Status.INVALID, "the prescription content does not match its signature")
        try:
            rx = parse_canonical(content)
        except CanonicalError as exc:
            return _with(verdict, Status.INVALID, f"the signed content is damaged: {exc}")
        if (rx.id, rx.version) != (payload.rx_id, payload.version):
            return _with(verdict, Status.INVALID, "the content belongs to a different prescription")
        if payload.scheme == 2 and payload.lines != lines_of(rx):
            return _with(verdict, Status.INVALID, "the medicines in the code differ from the attached content")
    ref = registry_ref(payload.rx_id, payload.version)
    for revoked in registry.get("revocations", []):
        if revoked["ref"] == ref:
            return _with(verdict, Status.REVOKED, f"revoked by the doctor: {revoked['reason']}", rx)
    for replaced in registry.get("superseded", []):
        if replaced["ref"] == ref:
            latest = int(replaced["latest_version"])
            return _with(verdict, Status.SUPERSEDED, f"superseded by version {latest}: dispense from the newest "
                         "version only", rx, latest)
    return _with(verdict, Status.VALID, "signature valid (revocations and corrections as of the registry export)", rx)


def read_pdf(pdf: bytes) -> tuple[str, bytes]:
    """The QR text and canonical bytes a Vaidya PDF carries as attachments."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
    except (PdfReadError, ValueError) as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc
    if PDF_QR_NAME not in attachments or PDF_CONTENT_NAME not in attachments:
        raise ValueError("this PDF carries no Vaidya signature data")
    return attachments[PDF_QR_NAME][0].decode("utf-8"), attachments[PDF_CONTENT_NAME][0]


def verify_pdf_offline(pdf: bytes, registry: dict[str, Any]) -> Verdict:
    try:
        text, content = read_pdf(pdf)
    except ValueError as exc:
        return Verdict(Status.INVALID, str(exc))
    return verify_offline(text, registry, content)
