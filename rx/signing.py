"""Doctors' Ed25519 signing keys: generation, encryption at rest under the server secret, sign and verify.

The signature covers a short statement binding the prescription ID, version and key ID to the SHA-256 of
the canonical bytes. That statement is what the QR code carries, so a printout can be checked offline
against the public-key registry; the full content is checked by hashing the canonical bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

STATEMENT_TAG = b"vaidya-rx-signature/1"
#: Version 2 also covers the medicine lines the QR code carries (`rx.qr.lines_bytes`).
STATEMENT_TAG_V2 = b"vaidya-rx-signature/2"
_HKDF_SALT = b"vaidya rx"
_HKDF_INFO = b"doctor signing keys at rest v1"


class SigningError(Exception):
    """A key cannot be used: wrong server secret, damaged record or unknown key."""


@dataclass(frozen=True)
class NewKey:
    key_id: str
    public_key: bytes  # raw 32 bytes
    sealed_private_key: bytes  # nonce ‖ AES-256-GCM ciphertext of the raw private key


def wrapping_key(server_secret: str) -> bytes:
    """The AES key that seals private keys at rest, derived from the server secret with HKDF-SHA256."""
    if len(server_secret) < 32:
        raise SigningError("the server secret is too short to protect signing keys")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        server_secret.encode("utf-8")
    )


def key_id_for(public_key: bytes) -> str:
    """Sixteen base32 characters of the public key's SHA-256: short enough for the QR, unique in practice."""
    return base64.b32encode(hashlib.sha256(public_key).digest()[:10]).decode("ascii")


def _aad(key_id: str, doctor_id: str) -> bytes:
    return f"{key_id}|{doctor_id}".encode()


def generate_key(doctor_id: str, wrap: bytes) -> NewKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = key_id_for(public)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(wrap).encrypt(nonce, raw, _aad(key_id, doctor_id))
    return NewKey(key_id, public, sealed)


def unseal_private_key(sealed: bytes, key_id: str, doctor_id: str, wrap: bytes) -> Ed25519PrivateKey:
    try:
        raw = AESGCM(wrap).decrypt(sealed[:12], sealed[12:], _aad(key_id, doctor_id))
    except InvalidTag:
        raise SigningError(f"signing key {key_id} cannot be opened with this server secret") from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def statement(rx_id: str, version: int, key_id: str, content_digest: bytes, lines: bytes | None = None) -> bytes:
    """The bytes actually signed: domain tag, ID, version, key ID and the canonical content's SHA-256;
    with `lines` (version 2) also the compact medicine lines, so the QR alone shows what was prescribed."""
    if len(content_digest) != 32:
        raise ValueError("content digest must be a SHA-256 (32 bytes)")
    parts = [rx_id.encode(), str(version).encode(), key_id.encode(), content_digest]
    if lines is None:
        return b"\n".join([STATEMENT_TAG, *parts])
    return b"\n".join([STATEMENT_TAG_V2, *parts, lines])


def sign(private: Ed25519PrivateKey, message: bytes) -> bytes:
    return private.sign(message)


def signature_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
