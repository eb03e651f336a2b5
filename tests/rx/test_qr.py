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
    assert len(url) < 450
    import segno
    assert segno.make_qr(qr.segments(url), error="m").version <= 10


def _legacy(service):
    """The RX1 form of a code (printed before the QR carried the medicines): same fields, base64url text."""
    import dataclasses

    return qr.encode(dataclasses.replace(qr.payload_for(service.issue(prescription())), lines=(), scheme=1))


def test_an_rx1_prescription_id_in_lower_case_is_read(service):
    text = _legacy(service).replace("RX1.7K3M9QXD4TBZ", "RX1.7k3m9qxd4tbz".upper())
    assert qr.decode(text).rx_id == "7K3M-9QXD-4TBZ"


def test_every_single_digit_change_in_the_code_is_detected(service):
    signed = service.issue(prescription())
    head, digits = qr.encode(qr.payload_for(signed)).split(".", 1)
    for i, char in enumerate(digits):
        for other in {str((int(char) + 1) % 10), str((int(char) + 7) % 10)}:
            changed = f"{head}.{digits[:i]}{other}{digits[i + 1:]}"
            verdict = verify_online(changed, service.store)
            assert verdict.status is Status.INVALID, f"digit {i} changed to {other} still verified"


def test_base64_with_unused_bits_set_is_refused_not_silently_equal(service):
    text = _legacy(service)
    last = text[-1]
    sibling = B64[B64.index(last) ^ 1]  # differs only in bits that base64 of 64 bytes leaves unused
    with pytest.raises(QrError, match="damaged base64"):
        qr.decode(text[:-1] + sibling)


@pytest.mark.parametrize("text", ["", "hello", "https://example.org/rx/verify", "RX1.abc"])
def test_text_that_is_not_a_vaidya_code_is_a_clear_error(text):
    with pytest.raises(QrError):
        qr.decode(text)
