"""What the verifier answers: valid, invalid, superseded or revoked, with the doctor's name and registration."""

from __future__ import annotations

import json

from rx import qr
from rx.pdf import render_pdf
from rx.verify import Status, verify_id, verify_offline, verify_online, verify_pdf_offline

from .builders import doctor, medicine, prescription

BASE = "https://vaidya.example.in"


def _code(signed) -> str:
    return qr.verification_url(BASE, qr.payload_for(signed))


def test_a_fresh_prescription_is_valid_with_the_doctors_name_and_registration(service):
    signed = service.issue(prescription())
    verdict = verify_online(_code(signed), service.store)
    assert verdict.status is Status.VALID
    assert (verdict.doctor_name, verdict.registration_number) == ("Dr. Asha Rao", "KMC-48213")
    assert verdict.prescription.medicines[0].generic_name == "Paracetamol"


def test_a_corrected_prescription_shows_the_old_version_as_superseded_and_the_new_one_valid(service):
    first = service.issue(prescription())
    second = service.correct(first.prescription.id, "doc-1", medicines=(medicine(duration_days=5),))
    old = verify_online(_code(first), service.store)
    assert old.status is Status.SUPERSEDED and old.latest_version == 2
    assert "superseded by version 2" in old.reason
    assert verify_online(_code(second), service.store).status is Status.VALID
    assert verify_id(first.prescription.id, None, service.store).version == 2


def test_a_revoked_prescription_shows_as_revoked_with_the_reason(service):
    signed = service.issue(prescription())
    service.revoke(signed.prescription.id, "doc-1", "Wrong dose written")
    verdict = verify_online(_code(signed), service.store)
    assert verdict.status is Status.REVOKED and "Wrong dose written" in verdict.reason
    assert verdict.registration_number == "KMC-48213"


def test_a_code_with_a_swapped_digest_or_an_unknown_key_is_invalid(service, tmp_path):
    from rx.service import RxService
    from rx.store import Store

    from .builders import ISSUED, SECRET

    signed = service.issue(prescription())
    # Point the signature at other content: the signature no longer matches.
    payload = qr.payload_for(signed)
    forged = qr.QrPayload(payload.rx_id, payload.version, payload.key_id, bytes(32), payload.signature)
    assert verify_online(qr.encode(forged), service.store).status is Status.INVALID
    # Signed by another server's key, which this registry never issued.
    other = RxService(Store(tmp_path / "other.db"), SECRET, clock=lambda: ISSUED).issue(prescription())
    verdict = verify_online(_code(other), service.store)
    assert verdict.status is Status.INVALID and "unknown signing key" in verdict.reason


def test_the_offline_registry_verifies_a_code_and_knows_revocations_and_corrections_at_export(service):
    signed = service.issue(prescription())
    other = service.issue(prescription(id="AAAA-BBBB-CCCC", doctor=doctor(id="doc-2", registration_number="2011/04/3377", council="Maharashtra Medical Council")))
    service.revoke(other.prescription.id, "doc-2", "Duplicate")
    corrected = service.issue(prescription(id="DDDD-EEEE-FFFF"))
    service.correct(corrected.prescription.id, "doc-1", advice="Rest")
    registry = json.loads(json.dumps(service.registry()))
    assert verify_offline(_code(signed), registry).status is Status.VALID
    revoked = verify_offline(_code(other), registry)
    assert revoked.status is Status.REVOKED and revoked.registration_number == "2011/04/3377"
    old = verify_offline(_code(corrected), registry)
    assert old.status is Status.SUPERSEDED and old.latest_version == 2
    text = _code(signed)
    broken = text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]
    assert verify_offline(broken, registry).status is Status.INVALID


def test_a_published_registry_names_no_prescription(service):
    service.issue(prescription())
    service.revoke(prescription().id, "doc-1", "Wrong patient")
    text = json.dumps(service.registry())
    assert prescription().id not in text and prescription().id.replace("-", "") not in text
    assert "Sita" not in text


def test_a_pdf_verifies_offline_and_fails_when_its_signed_content_is_swapped(service):
    signed = service.issue(prescription())
    registry = service.registry()
    pdf = render_pdf(signed, BASE)
    verdict = verify_pdf_offline(pdf, registry)
    assert verdict.status is Status.VALID and verdict.prescription == signed.prescription
    tampered = pdf.replace(b"Acute viral fever", b"Acute viral feveR")
    assert b"Acute viral feveR" in tampered  # the attachment is stored uncompressed, so the swap lands
    assert verify_pdf_offline(tampered, registry).status is Status.INVALID


def test_a_pdf_without_signature_data_is_invalid_with_a_reason():
    verdict = verify_pdf_offline(b"%PDF-1.4\n%%EOF", {"format": "vaidya-rx-keys/1", "keys": []})
    assert verdict.status is Status.INVALID and verdict.reason


def test_a_failed_signature_names_no_doctor(service):
    signed = service.issue(prescription())
    text = _code(signed)
    broken = text[:-9] + ("A" if text[-9] != "A" else "B") + text[-8:]
    verdict = verify_online(broken, service.store)
    assert verdict.status is Status.INVALID and verdict.doctor_name == "" and verdict.registration_number == ""
