"""The QR carries the signed medicine lines: an offline verifier shows exactly what was prescribed, so a
forged page beside a genuine code is caught by comparing the two; older RX1 codes still verify."""

from __future__ import annotations

import dataclasses

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rx import qr
from rx.canonical import digest
from rx.registry import REGISTRY_FORMAT
from rx.signing import key_id_for, sign, statement
from rx.verify import Status, verify_offline, verify_online

from .builders import everyday_medicines, medicine, prescription

BASE = "https://vaidya.example.in"
TWO_LINES = (medicine(), medicine("Cetirizine", strength="10 mg", frequency="HS", duration_days=5))


def _lines(n: int):
    return everyday_medicines(n, instructions="after food, with water")


def _code(signed) -> str:
    return qr.verification_url(BASE, qr.payload_for(signed))


def _as_rows(lines):
    return [(x.drug, x.strength, x.form, x.dose, x.frequency, x.duration_days) for x in lines]


def test_the_code_carries_every_medicine_line_as_signed(service):
    signed = service.issue(prescription(medicines=TWO_LINES))
    payload = qr.decode(_code(signed))
    assert _as_rows(payload.lines) == [("Paracetamol", "500 mg", "tablet", "1 tablet", "TDS", 3),
                                       ("Cetirizine", "10 mg", "tablet", "1 tablet", "HS", 5)]


def test_offline_verification_lists_the_signed_medicines_to_compare_with_the_paper(service):
    genuine = service.issue(prescription(medicines=TWO_LINES))
    verdict = verify_offline(_code(genuine), service.registry())
    assert verdict.ok
    # The QR alone (no PDF, no server) names each signed line: an added drug on a forged page is not there.
    assert [x.drug for x in verdict.signed_lines] == ["Paracetamol", "Cetirizine"]


def test_a_code_whose_medicine_lines_were_edited_is_invalid(service):
    genuine = service.issue(prescription(medicines=TWO_LINES))
    payload = qr.payload_for(genuine)
    extra = qr.SignedLine("Alprazolam", "0.5 mg", "tablet", "1 tablet", "HS", 30)
    for lines in (payload.lines + (extra,), payload.lines[:1],
                  (dataclasses.replace(payload.lines[0], duration_days=30), payload.lines[1])):
        forged = qr.verification_url(BASE, dataclasses.replace(payload, lines=lines))
        assert verify_offline(forged, service.registry()).status is Status.INVALID
        assert verify_online(forged, service.store).status is Status.INVALID


def test_a_page_printed_with_an_extra_drug_cannot_carry_a_valid_code(service):
    genuine = service.issue(prescription(medicines=TWO_LINES))
    forged_rx = dataclasses.replace(genuine.prescription,
                                    medicines=TWO_LINES + (medicine("Alprazolam", strength="0.5 mg"),))
    forged = dataclasses.replace(genuine, prescription=forged_rx)
    assert verify_offline(_code(forged), service.registry()).status is Status.INVALID


def test_each_line_carries_its_quantity_and_repeats_and_a_code_raised_to_give_more_is_invalid(service):
    signed = service.issue(prescription(medicines=(TWO_LINES[0], dataclasses.replace(TWO_LINES[1], repeats=2))))
    payload = qr.decode(_code(signed))
    assert [(x.quantity, x.repeats) for x in payload.lines] == [(9, 0), (9, 2)]
    assert payload.lines[1].text().endswith("quantity 9 (+2 repeats)")
    assert verify_offline(_code(signed), service.registry()).ok
    first, second = payload.lines
    for lines in ((dataclasses.replace(first, quantity=90), second), (dataclasses.replace(first, repeats=5), second),
                  (first, dataclasses.replace(second, repeats=0))):
        forged = qr.verification_url(BASE, dataclasses.replace(payload, lines=lines))
        assert qr.decode(forged).lines == lines
        assert verify_offline(forged, service.registry()).status is Status.INVALID


def test_an_rx1_code_printed_before_the_medicines_were_added_still_verifies():
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = key_id_for(public)
    content = b'{"any":"signed content"}'
    signature = sign(private, statement("7K3M-9QXD-4TBZ", 1, key_id, digest(content)))
    text = (f"{BASE}/rx/verify?c=RX1.7K3M9QXD4TBZ.1.{key_id}."
            f"{qr._b64(digest(content))}.{qr._b64(signature)}")
    registry = {"format": REGISTRY_FORMAT, "keys": [{
        "key_id": key_id, "doctor_id": "d", "doctor_name": "Dr. Old", "registration_number": "KMC-1",
        "council": "Karnataka Medical Council", "public_key": public.hex()}]}
    verdict = verify_offline(text, registry)
    assert verdict.ok and verdict.doctor_name == "Dr. Old" and verdict.signed_lines == ()
    assert verify_offline(text[:-2] + ("AA" if text[-2:] != "AA" else "BB"), registry).status is Status.INVALID


@pytest.mark.parametrize("n, max_version", [(1, 10), (5, 13), (10, 14)])
def test_the_code_stays_small_with_one_five_and_ten_lines(service, n, max_version):
    signed = service.issue(prescription(medicines=_lines(n)))
    text = _code(signed)
    code = segno.make_qr(qr.segments(text), error=qr.ERROR_CORRECTION, boost_error=False)
    all_bytes = segno.make_qr(text, error=qr.ERROR_CORRECTION, boost_error=False)
    assert all_bytes.version > code.version  # the digits in numeric mode pay off
    print(f"{n} lines: {len(text)} characters, QR version {code.version}-{qr.ERROR_CORRECTION.upper()} "
          f"(all in byte mode: {all_bytes.version})")
    assert code.version <= max_version
    assert verify_offline(text, service.registry()).ok


def test_a_decompression_bomb_in_the_code_is_refused():
    import zlib

    payload = qr.QrPayload("7K3M-9QXD-4TBZ", 1, "A" * 16, b"\0" * 32, b"\0" * 64)
    assert qr.decode(qr.encode(payload)) == payload
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = packer.compress(b"[" * 10_000_000) + packer.flush()
    with pytest.raises(qr.QrError, match="oversized"):
        qr.decode(f"{qr.PREFIX}.{qr.to_digits(qr.pack(payload)[:qr.HEAD_BYTES] + bomb)}")


def test_digits_that_are_not_the_one_spelling_of_a_payload_are_refused():
    payload = qr.QrPayload("7K3M-9QXD-4TBZ", 1, "A" * 16, b"\0" * 32, b"\0" * 64)
    digits = qr.encode(payload).split(".", 1)[1]
    for broken in (digits[:-1], "9" * 17 + digits[17:], digits + "0", digits.replace("0", "O", 1)):
        with pytest.raises(qr.QrError):
            qr.decode(f"{qr.PREFIX}.{broken}")
