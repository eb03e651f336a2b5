"""The public-key registry pharmacists verify against offline (`vaidya rx export-keys`).

Format `vaidya-rx-keys/1`: every doctor key ever used (ID, doctor, registration, council, public key),
plus the revocations and corrections known at export time. Those name a prescription version only by a
hash (`registry_ref`), so a published registry lists no prescription IDs: an ID opens the verification
page, which shows the patient's name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .canonical import utc_text
from .store import Store

REGISTRY_FORMAT = "vaidya-rx-keys/1"


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    doctor_name: str
    registration_number: str
    council: str
    public_key: bytes


def registry_ref(rx_id: str, version: int) -> str:
    """How the registry names a prescription version without revealing its ID."""
    return hashlib.sha256(f"vaidya-rx-ref/1|{rx_id}|{version}".encode()).hexdigest()[:32]


def export_registry(store: Store, now: datetime) -> dict[str, Any]:
    """The public-key registry (`vaidya rx export-keys`): keys, plus the revocations and corrections known
    at export time, each named by `registry_ref`."""
    return {
        "format": REGISTRY_FORMAT,
        "exported_at": utc_text(now),
        "keys": [
            {"key_id": k.key_id, "doctor_id": k.doctor_id, "doctor_name": k.doctor_name,
             "registration_number": k.registration_number, "council": k.council,
             "public_key": k.public_key.hex(), "created_at": utc_text(k.created_at)}
            for k in store.keys()
        ],
        "revocations": [
            {"ref": registry_ref(r.rx_id, r.version), "reason": r.reason, "revoked_at": utc_text(r.revoked_at)}
            for r in store.revocations()
        ],
        "superseded": [
            {"ref": registry_ref(rx_id, version), "latest_version": latest}
            for rx_id, version, latest in store.superseded()
        ],
    }


def registry_keys(registry: dict[str, Any]) -> dict[str, PublicKey]:
    if registry.get("format") != REGISTRY_FORMAT:
        raise ValueError("not a Vaidya key registry (expected format vaidya-rx-keys/1)")
    return {
        k["key_id"]: PublicKey(k["key_id"], k["doctor_name"], k["registration_number"], k["council"],
                               bytes.fromhex(k["public_key"]))
        for k in registry["keys"]
    }
