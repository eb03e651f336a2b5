"""The QR code on the printout: the signed statement and the medicine lines, inside the verification URL.

`RX2.<digits>` (current): the prescription ID, version, key ID, SHA-256 of the canonical bytes, the
Ed25519 signature and the raw-DEFLATE of the medicine lines (JSON), packed as bytes and written as
decimal digits, 17 digits per 7 bytes. Digits go in the QR's numeric mode at 3⅓ bits each, so the binary
payload costs about 1 % more than raw bytes (base64 in byte mode costs 33 %); the URL before them stays
in byte mode. The lines are part of what the doctor signed (statement version 2), so a verifier holding
only the code sees exactly what was prescribed. (SMART Health Cards put their payload in numeric mode
for the same reason.)

`RX1.<id>.<version>.<key id>.<sha256>.<signature>` (earlier printouts, no lines): still decoded and
verified against statement version 1.
"""

from __future__ import annotations

import base64
import io
import json
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import segno
from segno import consts

from .dosage import FREQUENCIES
from .model import Prescription, Signed, normalise_prescription_id
from .signing import statement

PREFIX = "RX2"
LEGACY_PREFIX = "RX1"
#: Error correction of the printed code: M restores up to 15 % of damaged codewords; segno raises it to Q
#: or H when that fits in the same version. Module size mattered more than EC for 100 dpi scans and
#: phone photos (docs/rx.md has the measurements), so the code is printed large (`rx.pdf.QR_MM`).
ERROR_CORRECTION = "m"
#: Decompressed medicine lines larger than this are refused (a code is at most ~3 KB; this stops bombs).
MAX_LINES_BYTES = 16 * 1024
_LEGACY = re.compile(r"^RX1\.([0-9A-Z]{12})\.([1-9][0-9]{0,5})\.([A-Z2-7]{16})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{86})$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Decimal digits that hold k bytes (k = 0..7): ceil(8k·log10 2).
_DIGITS_FOR_BYTES = (0, 3, 5, 8, 10, 13, 15, 17)
HEAD_BYTES = 8 + 2 + 10 + 32 + 64  # id, version, key id, digest, signature


class QrError(ValueError):
    """Text that is not a Vaidya prescription QR payload."""


@dataclass(frozen=True)
class SignedLine:
    """One medicine line as the code carries it: what a pharmacist compares with the paper, including how
    much to give and how many further fills (repeats) the doctor allowed, so a page altered to dispense
    more does not match its code."""

    drug: str
    strength: str
    form: str
    dose: str
    frequency: str
    duration_days: int
    #: Units to dispense (0: a line signed without one, never the case since quantities are required).
    quantity: int = 0
    #: Further fills of `quantity` allowed after the first.
    repeats: int = 0

    def text(self) -> str:
        """The line in English as a pharmacist reads it, e.g. 'ATENOLOL 50 mg tablet: 1 tablet, OD (once a
        day), 30 days; quantity 30 (+2 repeats)'."""
        freq = FREQUENCIES.get(self.frequency)
        how_often = f"{self.frequency} ({freq.english})" if freq else self.frequency
        text = f"{self.drug.upper()} {self.strength} {self.form}: {self.dose}, {how_often}, {self.duration_days} days"
        if not self.quantity:
            return text
        repeats = f" (+{self.repeats} repeats)" if self.repeats else ""
        return f"{text}; quantity {self.quantity}{repeats}"

    def as_list(self) -> list[Any]:
        """The compact form: six fields, then the quantity when there is one, then repeats when any."""
        fields: list[Any] = [self.drug, self.strength, self.form, self.dose, self.frequency, self.duration_days]
        if self.quantity:
            fields.append(self.quantity)
            if self.repeats:
                fields.append(self.repeats)
        return fields


def lines_of(rx: Prescription) -> tuple[SignedLine, ...]:
    """The compact lines of a prescription, with each line's quantity to dispense and repeats."""
    return tuple(SignedLine(m.generic_name, m.strength, m.form, m.dose, m.frequency, m.duration_days,
                            m.quantity, m.repeats) for m in rx.medicines)


def lines_bytes(lines: tuple[SignedLine, ...]) -> bytes:
    """The exact bytes of the lines the signature covers: compact JSON, UTF-8, text in NFC."""
    data = [[unicodedata.normalize("NFC", x) if isinstance(x, str) else x for x in line.as_list()] for line in lines]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_lines(blob: bytes) -> tuple[SignedLine, ...]:
    """Inverse of `lines_bytes`, refusing any other spelling of the same lines."""
    try:
        data = json.loads(blob.decode("utf-8"))
        lines = []
        for item in data:
            if not isinstance(item, list) or len(item) not in (6, 7, 8) \
                    or not all(isinstance(x, str) for x in item[:5]) \
                    or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in item[5:]):
                raise QrError("damaged medicine lines in the QR payload")
            lines.append(SignedLine(*item))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise QrError("damaged medicine lines in the QR payload") from exc
    if lines_bytes(tuple(lines)) != blob:
        raise QrError("medicine lines in the QR payload are not in canonical form")
    return tuple(lines)


@dataclass(frozen=True)
class QrPayload:
    rx_id: str
    version: int
    key_id: str
    digest: bytes
    signature: bytes
    lines: tuple[SignedLine, ...] = ()
    #: The signed statement's version: 2 covers the lines, 1 (RX1 codes) does not.
    scheme: int = 2

    def statement(self) -> bytes:
        """The bytes the doctor's signature must cover for this payload."""
        lines = lines_bytes(self.lines) if self.scheme == 2 else None
        return statement(self.rx_id, self.version, self.key_id, self.digest, lines)


def payload_for(signed: Signed) -> QrPayload:
    rx = signed.prescription
    lines = lines_of(rx) if signed.statement_version == 2 else ()
    return QrPayload(rx.id, rx.version, signed.key_id, signed.digest, signed.signature, lines,
                     signed.statement_version)


# Numeric packing -----------------------------------------------------------------------------------------
def to_digits(data: bytes) -> str:
    """Bytes as decimal digits: each 7 bytes as 17 digits, a shorter tail by `_DIGITS_FOR_BYTES`."""
    out = []
    for start in range(0, len(data), 7):
        chunk = data[start:start + 7]
        out.append(str(int.from_bytes(chunk, "big")).zfill(_DIGITS_FOR_BYTES[len(chunk)]))
    return "".join(out)


def from_digits(text: str) -> bytes:
    """Inverse of `to_digits`; any other spelling (a value too large for its chunk, a bad length) is refused."""
    if not text.isdigit() or not text.isascii():
        raise QrError("not a Vaidya prescription code")
    full, tail = divmod(len(text), 17)
    if tail not in _DIGITS_FOR_BYTES:
        raise QrError("damaged QR payload (length)")
    chunks = [text[17 * i:17 * (i + 1)] for i in range(full)] + ([text[17 * full:]] if tail else [])
    out = bytearray()
    for chunk in chunks:
        size = _DIGITS_FOR_BYTES.index(len(chunk))
        value = int(chunk)
        if value >= 256 ** size:
            raise QrError("damaged QR payload (digits)")
        out += value.to_bytes(size, "big")
    return bytes(out)


def _crockford_int(rx_id: str) -> int:
    value = 0
    for char in rx_id.replace("-", ""):
        value = value * 32 + _CROCKFORD.index(char)
    return value


def _crockford_text(value: int) -> str:
    chars = []
    for _ in range(12):
        value, rest = divmod(value, 32)
        chars.append(_CROCKFORD[rest])
    if value:
        raise QrError("damaged prescription ID in the QR payload")
    raw = "".join(reversed(chars))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _inflate(data: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15)
    try:
        out = unpacker.decompress(data, MAX_LINES_BYTES + 1)
    except zlib.error as exc:
        raise QrError("damaged medicine lines in the QR payload") from exc
    if len(out) > MAX_LINES_BYTES or unpacker.unconsumed_tail or not unpacker.eof or unpacker.unused_data:
        raise QrError("damaged or oversized medicine lines in the QR payload")
    return out


def pack(payload: QrPayload) -> bytes:
    """The binary form of an RX2 payload (before it is written as digits)."""
    if not 1 <= payload.version <= 0xFFFF:
        raise QrError("prescription version out of range for the QR code")
    return (_crockford_int(payload.rx_id).to_bytes(8, "big") + payload.version.to_bytes(2, "big")
            + base64.b32decode(payload.key_id) + payload.digest + payload.signature
            + _deflate(lines_bytes(payload.lines)))


def unpack(data: bytes) -> QrPayload:
    if len(data) <= HEAD_BYTES:
        raise QrError("damaged QR payload (too short)")
    rx_id = _crockford_text(int.from_bytes(data[:8], "big"))
    version = int.from_bytes(data[8:10], "big")
    if version < 1:
        raise QrError("damaged QR payload (version)")
    key_id = base64.b32encode(data[10:20]).decode("ascii")
    lines = parse_lines(_inflate(data[HEAD_BYTES:]))
    return QrPayload(rx_id, version, key_id, data[20:52], data[52:116], lines)


# Text forms ----------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: text whose unused low bits are set is refused, so one payload has one spelling."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise QrError("damaged base64 in the QR payload")
    return data


def encode(payload: QrPayload) -> str:
    if payload.scheme == 1:
        return ".".join([LEGACY_PREFIX, payload.rx_id.replace("-", ""), str(payload.version), payload.key_id,
                         _b64(payload.digest), _b64(payload.signature)])
    return f"{PREFIX}.{to_digits(pack(payload))}"


def looks_like_code(text: str) -> bool:
    """Whether text is (or carries) a QR payload rather than a typed prescription ID."""
    return f"{PREFIX}." in text or f"{LEGACY_PREFIX}." in text


def decode(text: str) -> QrPayload:
    """Parse a payload, or a verification URL carrying one in its `c` parameter."""
    text = text.strip()
    if "://" in text or text.startswith("/"):
        values = parse_qs(urlsplit(text).query).get("c")
        if not values:
            raise QrError("the URL carries no prescription payload (missing ?c=)")
        text = values[0]
    if text.startswith(f"{PREFIX}."):
        return unpack(from_digits(text[len(PREFIX) + 1:]))
    match = _LEGACY.match(text)
    if not match:
        raise QrError("not a Vaidya prescription code")
    raw_id, version, key_id, digest, signature = match.groups()
    return QrPayload(normalise_prescription_id(raw_id), int(version), key_id, _unb64(digest), _unb64(signature),
                     (), 1)


def verification_url(base_url: str, payload: QrPayload) -> str:
    return f"{base_url.rstrip('/')}/rx/verify?c={quote(encode(payload), safe='.-_')}"


def segments(text: str) -> list[tuple[str, int]]:
    """QR segments for a code's text: the URL in byte mode, an RX2 payload's digits in numeric mode."""
    head, marker, digits = text.partition(f"{PREFIX}.")
    if marker and digits.isdigit():
        return [(head + marker, consts.MODE_BYTE), (digits, consts.MODE_NUMERIC)]
    return [(text, consts.MODE_BYTE)]


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of the QR code (error correction `ERROR_CORRECTION`, the standard 4-module quiet zone)."""
    buffer = io.BytesIO()
    segno.make_qr(segments(text), error=ERROR_CORRECTION).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
