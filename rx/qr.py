"""The QR code on the printout: a compact, signed statement plus the verification URL.

Payload: `RX1.<id>.<version>.<key id>.<sha256 of canonical bytes>.<Ed25519 signature>`, the last two in
unpadded base64url (43 and 86 characters). The code encodes `<base_url>/rx/verify?c=<payload>`, so a
phone camera opens the verification page and an offline verifier can check the signature alone.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import segno

from .model import Signed, normalise_prescription_id

PREFIX = "RX1"
_PAYLOAD = re.compile(r"^RX1\.([0-9A-Z]{12})\.([1-9][0-9]{0,5})\.([A-Z2-7]{16})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{86})$")


class QrError(ValueError):
    """Text that is not a Vaidya prescription QR payload."""


@dataclass(frozen=True)
class QrPayload:
    rx_id: str
    version: int
    key_id: str
    digest: bytes
    signature: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: text whose unused low bits are set is refused, so one payload has one spelling."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise QrError("damaged base64 in the QR payload")
    return data


def payload_for(signed: Signed) -> QrPayload:
    rx = signed.prescription
    return QrPayload(rx.id, rx.version, signed.key_id, signed.digest, signed.signature)


def encode(payload: QrPayload) -> str:
    compact_id = payload.rx_id.replace("-", "")
    return ".".join([PREFIX, compact_id, str(payload.version), payload.key_id, _b64(payload.digest),
                     _b64(payload.signature)])


def decode(text: str) -> QrPayload:
    """Parse a payload, or a verification URL carrying one in its `c` parameter."""
    text = text.strip()
    if "://" in text or text.startswith("/"):
        values = parse_qs(urlsplit(text).query).get("c")
        if not values:
            raise QrError("the URL carries no prescription payload (missing ?c=)")
        text = values[0]
    match = _PAYLOAD.match(text)
    if not match:
        raise QrError("not a Vaidya prescription code")
    raw_id, version, key_id, digest, signature = match.groups()
    return QrPayload(normalise_prescription_id(raw_id), int(version), key_id, _unb64(digest), _unb64(signature))


def verification_url(base_url: str, payload: QrPayload) -> str:
    return f"{base_url.rstrip('/')}/rx/verify?c={quote(encode(payload), safe='.-_')}"


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of the QR code (error correction M, quiet zone of 4 modules as the standard asks)."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
