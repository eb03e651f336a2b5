"""Issuing, correcting, revoking and dispensing prescriptions: rules, then canonical bytes, then signature, then store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .canonical import canonical_bytes, digest, utc_text
from .fonts import FONT_DIR, unprintable
from .formulary import Formulary, default_formulary
from .localtime import DEFAULT_ZONE
from .model import PharmacistSnapshot, Prescription, Signed
from .qr import lines_bytes, lines_of
from .rules import Problem, RuleViolation, check
from .signing import SigningError, generate_key, sign, statement, unseal_private_key, wrapping_key
from .registry import export_registry
from .store import Dispensation, DispenseRefused, KeyRecord, Revocation, Store, StoreError

log = logging.getLogger(__name__)

def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class NotAllowed(PermissionError):
    """The acting doctor may not change this prescription."""


class RxService:
    """The one place prescriptions are signed. Views and the CLI call this; it never imports aiohttp."""

    def __init__(self, store: Store, server_secret: str, formulary: Formulary | None = None,
                 clock: Callable[[], datetime] = utc_now, font_dir: Path = FONT_DIR,
                 zone: tzinfo = DEFAULT_ZONE) -> None:
        self.store = store
        #: The clinic's time zone: the prescription's date, and so the follow-up check, is the local date.
        self.zone = zone
        self.formulary = formulary or default_formulary()
        self.font_dir = font_dir
        self._wrap = wrapping_key(server_secret)
        self._clock = clock

    @classmethod
    def open(cls, data_dir: Path, server_secret: str, zone: tzinfo = DEFAULT_ZONE) -> RxService:
        """The service on the shared database file `<data_dir>/vaidya.db`."""
        return cls(Store(Path(data_dir) / "vaidya.db"), server_secret, zone=zone)

    def _signing_key(self, rx: Prescription) -> tuple[KeyRecord, Ed25519PrivateKey]:
        """The doctor's current key, opened; a new one when there is none or it was sealed under an
        earlier server secret (older keys stay in the registry, so what they signed still verifies)."""
        record = self.store.current_key(rx.doctor)
        if record is not None:
            try:
                return record, unseal_private_key(record.sealed_private_key, record.key_id, record.doctor_id,
                                                  self._wrap)
            except SigningError:
                log.warning("key %s of doctor %s does not open with this server secret: issuing a new key",
                            record.key_id, record.doctor_id)
        record = self.store.add_key(rx.doctor, generate_key(rx.doctor.id, self._wrap), self._clock())
        return record, unseal_private_key(record.sealed_private_key, record.key_id, record.doctor_id, self._wrap)

    def issue(self, rx: Prescription) -> Signed:
        """Check the TPG rules and that the text can be printed, sign and store.

        Raises RuleViolation (nothing stored) when a rule fails.
        """
        problems = check(rx, self.formulary, self.zone)
        missing = unprintable(canonical_bytes(rx).decode("utf-8"), self.font_dir)
        if missing:
            problems.append(Problem("unprintable", "text",
                f"These characters cannot be printed on the prescription: {' '.join(missing)} — please remove them."))
        if problems:
            raise RuleViolation(problems)
        key, private = self._signing_key(rx)
        blob = canonical_bytes(rx)
        content_digest = digest(blob)
        lines = lines_bytes(lines_of(rx))
        signature = sign(private, statement(rx.id, rx.version, key.key_id, content_digest, lines))
        signed = Signed(rx, blob, content_digest, key.key_id, signature, self._clock())
        self.store.append(signed)
        return signed

    def correct(self, rx_id: str, doctor_id: str, **changes: Any) -> Signed:
        """Sign a new version that supersedes the latest one; both stay visible to the verifier."""
        latest = self.store.latest(rx_id)
        if latest is None:
            raise KeyError(rx_id)
        if latest.prescription.doctor.id != doctor_id:
            raise NotAllowed("only the doctor who issued a prescription can correct it")
        return self.issue(latest.prescription.corrected(self._clock(), **changes))

    def revoke(self, rx_id: str, doctor_id: str, reason: str) -> Revocation:
        latest = self.store.latest(rx_id)
        if latest is None:
            raise KeyError(rx_id)
        if latest.prescription.doctor.id != doctor_id:
            raise NotAllowed("only the doctor who issued a prescription can revoke it")
        if not reason.strip():
            raise RuleViolation([Problem("revocation_reason", "reason", "Give a reason for revoking the prescription.")])
        return self.store.revoke(rx_id, latest.prescription.version, reason, doctor_id, self._clock())

    def dispense(self, rx_id: str, version: int, pharmacist: PharmacistSnapshot, lines: dict[int, int],
                 note: str = "") -> Dispensation:
        """Record what a registered pharmacist gave: `lines` maps line index → quantity. Each line may be filled
        up to its quantity × (1 + repeats) in all; a line signed without a quantity, once.

        Raises KeyError (no such version), StoreError (revoked or superseded) or DispenseRefused.
        """
        signed = self.store.version(rx_id, version)
        if signed is None:
            raise KeyError(rx_id)
        if self.store.revocation(rx_id, version) is not None:
            raise StoreError("a revoked prescription cannot be dispensed")
        latest = self.store.latest(rx_id)
        if latest is not None and latest.prescription.version != version:
            raise StoreError(f"version {version} was superseded by version {latest.prescription.version}")
        medicines = signed.prescription.medicines
        if not lines:
            raise DispenseRefused("give the quantity dispensed for at least one line")
        bad = [n for n, q in lines.items() if not 0 <= n < len(medicines) or q < 1]
        if bad:
            raise DispenseRefused(f"line {bad[0] + 1}: give a whole quantity of 1 or more for a line of this "
                                  f"prescription (it has {len(medicines)})")
        allowed = {n: m.quantity * (1 + m.repeats) if m.quantity else None for n, m in enumerate(medicines)}
        try:
            return self.store.dispense(rx_id, version, pharmacist, lines, allowed, note, self._clock())
        except DispenseRefused as exc:
            if exc.line is None:
                raise
            m = medicines[exc.line]
            repeats = f"{m.repeats} repeats allowed" if m.repeats else "no repeats allowed"
            raise DispenseRefused(f"line {exc.line + 1}, {m.generic_name.upper()} {m.strength}: {exc} ({repeats})",
                                  exc.line) from None

    def registry(self) -> dict[str, Any]:
        return export_registry(self.store, self._clock())
