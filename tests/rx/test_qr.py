"""The QR payload: compact, one spelling per payload, and any changed character of the signature fails."""

from __future__ import annotations

import pytest

from rx import qr
from rx.qr import QrError
from rx.verify import Status, verify_online

from .builders import prescription

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_the_payload_round_trips_and_fits_a_small_printable_code(service):
    signed = service.issue(prescription())
    payload = qr.payload_for(signed)
    assert qr.decode(qr.encode(payload)) == payload
    url = qr.verification_url("https://vaidya.example.in", payload)
    assert qr.decode(url) == payload
    assert len(url) < 230
    import segno
    assert segno.make_qr(url, error="m").version <= 10


def test_a_prescription_id_typed_in_lower_case_without_dashes_is_accepted(service):
    signed = service.issue(prescription())
    text = qr.encode(qr.payload_for(signed)).replace("RX1.7K3M9QXD4TBZ", "RX1.7K3M9QXD4TBZ")
    assert qr.decode(text).rx_id == "7K3M-9QXD-4TBZ"


def test_every_single_character_change_in_the_signature_is_detected(service):
    signed = service.issue(prescription())
    text = qr.encode(qr.payload_for(signed))
    head, signature = text.rsplit(".", 1)
    for i, char in enumerate(signature):
        for other in (B64[(B64.index(char) + 1) % 64], B64[(B64.index(char) + 17) % 64]):
            changed = f"{head}.{signature[:i]}{other}{signature[i + 1:]}"
            verdict = verify_online(changed, service.store)
            assert verdict.status is Status.INVALID, f"character {i} changed to {other} still verified"


def test_base64_with_unused_bits_set_is_refused_not_silently_equal(service):
    signed = service.issue(prescription())
    text = qr.encode(qr.payload_for(signed))
    last = text[-1]
    sibling = B64[B64.index(last) ^ 1]  # differs only in bits that base64 of 64 bytes leaves unused
    with pytest.raises(QrError, match="damaged base64"):
        qr.decode(text[:-1] + sibling)


@pytest.mark.parametrize("text", ["", "hello", "https://example.org/rx/verify", "RX1.abc"])
def test_text_that_is_not_a_vaidya_code_is_a_clear_error(text):
    with pytest.raises(QrError):
        qr.decode(text)
