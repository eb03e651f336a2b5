"""Canonical bytes and signatures: the signature verifies, and any changed byte of the content fails."""

from __future__ import annotations

import sqlite3

import pytest

from rx.canonical import CanonicalError, canonical_bytes, digest, parse_canonical
from rx.qr import lines_bytes, lines_of
from rx.signing import SigningError, signature_valid, statement, unseal_private_key, wrapping_key

from .builders import SECRET, prescription


def _verifies(service, signed, blob: bytes) -> bool:
    key = service.store.key(signed.key_id)
    rx = signed.prescription
    message = statement(rx.id, rx.version, signed.key_id, digest(blob), lines_bytes(lines_of(rx)))
    return signature_valid(key.public_key, message, signed.signature)


def test_canonical_bytes_parse_back_to_the_same_prescription_and_the_same_bytes():
    rx = prescription(patient=prescription().patient.__class__(**{**prescription().patient.__dict__, "name": "सीता देवी"}))
    blob = canonical_bytes(rx)
    assert parse_canonical(blob) == rx
    assert canonical_bytes(parse_canonical(blob)) == blob
    assert "सीता देवी".encode() in blob


def test_canonical_bytes_do_not_depend_on_unicode_composition():
    composed = prescription(diagnosis="Café fever")
    decomposed = prescription(diagnosis="Cafe\u0301 fever")
    assert canonical_bytes(composed) == canonical_bytes(decomposed)


def test_bytes_that_are_not_canonical_are_refused():
    blob = canonical_bytes(prescription())
    with pytest.raises(CanonicalError):
        parse_canonical(blob.replace(b'"version":1', b'"version": 1'))


def test_the_signature_verifies_and_any_changed_byte_of_the_signed_content_fails(service):
    signed = service.issue(prescription())
    assert _verifies(service, signed, signed.canonical)
    for i in range(len(signed.canonical)):
        changed = bytearray(signed.canonical)
        changed[i] ^= 0x01
        assert not _verifies(service, signed, bytes(changed)), f"byte {i} changed and the signature still held"


def test_a_changed_signature_or_a_different_version_fails(service):
    signed = service.issue(prescription())
    key = service.store.key(signed.key_id)
    rx = signed.prescription
    lines = lines_bytes(lines_of(rx))
    message = statement(rx.id, rx.version, signed.key_id, signed.digest, lines)
    assert signature_valid(key.public_key, message, signed.signature)
    bad = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    assert not signature_valid(key.public_key, message, bad)
    assert not signature_valid(key.public_key, statement(rx.id, 2, signed.key_id, signed.digest, lines),
                               signed.signature)
    # The same signature does not pass as an older statement without the lines.
    assert not signature_valid(key.public_key, statement(rx.id, rx.version, signed.key_id, signed.digest),
                               signed.signature)


def test_private_keys_are_stored_encrypted_and_open_only_with_the_server_secret(service, tmp_path):
    signed = service.issue(prescription())
    db = sqlite3.connect(tmp_path / "vaidya.db")
    [(sealed, public)] = db.execute("SELECT sealed_private_key, public_key FROM rx_doctor_keys").fetchall()
    private = unseal_private_key(sealed, signed.key_id, "doc-1", wrapping_key(SECRET))
    assert private.public_key().public_bytes_raw() == public
    raw = private.private_bytes_raw()
    assert raw not in sealed
    with pytest.raises(SigningError):
        unseal_private_key(sealed, signed.key_id, "doc-1", wrapping_key("another-secret-" + "y" * 40))
    with pytest.raises(SigningError):
        unseal_private_key(sealed, signed.key_id, "doc-2", wrapping_key(SECRET))


def test_each_doctor_signs_with_their_own_key(service):
    from .builders import doctor
    first = service.issue(prescription())
    second = service.issue(prescription(id="AAAA-BBBB-CCCC", doctor=doctor(id="doc-2", registration_number="2011/04/3318", council="Maharashtra Medical Council")))
    again = service.issue(prescription(id="DDDD-EEEE-FFFF"))
    assert first.key_id == again.key_id != second.key_id


def test_a_new_registration_gets_a_new_key_and_older_prescriptions_still_verify(service):
    from rx import qr
    from rx.verify import Status, verify_online

    from .builders import doctor
    first = service.issue(prescription())
    moved = service.issue(prescription(id="AAAA-BBBB-CCCC", doctor=doctor(registration_number="99120",
                                                                            council="National Medical Commission")))
    assert moved.key_id != first.key_id
    for signed, registration in ((first, "KMC-48213"), (moved, "99120")):
        verdict = verify_online(qr.encode(qr.payload_for(signed)), service.store)
        assert verdict.status is Status.VALID and verdict.registration_number == registration


def test_after_the_server_secret_changes_doctors_get_new_keys_and_old_prescriptions_still_verify(service, tmp_path):
    from rx import qr
    from rx.service import RxService
    from rx.verify import Status, verify_online

    from .builders import ISSUED
    before = service.issue(prescription())
    rotated = RxService(service.store, "a-brand-new-server-secret-" + "z" * 30, clock=lambda: ISSUED)
    after = rotated.issue(prescription(id="AAAA-BBBB-CCCC"))
    assert after.key_id != before.key_id
    for signed in (before, after):
        assert verify_online(qr.encode(qr.payload_for(signed)), service.store).status is Status.VALID
