"""What the paper says: "Electronically signed" with how to verify it (never "digitally signed", which in
India means a licensed certifying authority's signature), the route and the instructions label in the
patient's language, the doctor's signature image when one was uploaded, and a seam for a licensed eSign."""

from __future__ import annotations

import io
import subprocess
import sys
import unicodedata

import cv2
import numpy as np
import pytest
from pypdf import PdfReader

from rx import labels
from rx.dosage import ROUTES
from rx.esign import ExternalSigner, NoExternalSigner
from rx.model import LANGUAGES
from rx.pdf import render_pdf
from rx.service import utc_now as issued_at_now
from rx.signature_image import SignatureImageError, check_signature_image
from rx.web import RX_SERVICE

from .builders import everyday_medicines, medicine, patient, prescription
from .test_qr_scan import rasterise, read_qr

BASE = "https://vaidya.example.in"
VAIDYA = [sys.executable, "-m", "signaling.cli"]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _letters(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def _png(width: int = 300, height: int = 100) -> bytes:
    image = np.full((height, width), 255, np.uint8)
    cv2.line(image, (20, 70), (280, 30), 0, 3)
    return cv2.imencode(".png", image)[1].tobytes()


def test_the_pdf_says_electronically_signed_and_how_to_verify_never_digitally_signed(service):
    signed = service.issue(prescription(patient=patient(language="en")))
    text = _text(render_pdf(signed, BASE))
    assert "Electronically signed by: Dr. Asha Rao" in text
    assert "digital" not in text.lower()
    flat = " ".join(text.split())
    assert f"{BASE}/rx/verify" in flat and signed.prescription.id in flat and "scan the QR code" in flat


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_language_calls_the_signature_digital(lang):
    for key in ("signature", "verify_how"):
        text = labels.both(key, lang)
        assert "digital" not in text.lower() and "डिजिटल" not in text and "ڈیجیٹل" not in text, (lang, key)


def test_every_route_has_a_word_in_every_language():
    for route in ROUTES:
        for lang in LANGUAGES:
            assert labels.local(f"route_{route}", lang)


def test_the_route_and_the_instructions_label_are_printed_in_the_patients_language(service):
    signed = service.issue(prescription(medicines=(medicine(instructions="खाने के बाद"),
                                                   medicine("Clotrimazole", strength="1%", form="cream",
                                                            dose="thin layer", frequency="BD", route="topical",
                                                            instructions="on the rash"))))
    text = _letters(_text(render_pdf(signed, BASE)))
    for written in (labels.both("route_oral", "hi"), labels.both("route_topical", "hi"),
                    labels.both("route", "hi"), labels.both("instructions", "hi"), "खाने के बाद", "on the rash"):
        assert _letters(written) in text, written


def test_the_doctors_signature_image_is_printed_when_given(service):
    signed = service.issue(prescription())
    plain = render_pdf(signed, BASE)
    with_image = render_pdf(signed, BASE, signature_image=check_signature_image(_png()))
    images = lambda pdf: sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)  # noqa: E731
    assert images(with_image) == images(plain) + 1


@pytest.mark.parametrize("content, why", [
    (b"%PDF-1.7 not an image", "PNG or JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"broken", "cannot be read"),
    (b"", "PNG or JPEG"),
])
def test_a_signature_image_that_is_not_a_small_readable_picture_is_refused(content, why):
    with pytest.raises(SignatureImageError, match=why):
        check_signature_image(content)


def test_a_too_large_signature_image_is_refused():
    with pytest.raises(SignatureImageError, match="too large"):
        check_signature_image(_png() + b"\0" * 600_000)
    with pytest.raises(SignatureImageError, match="pixels"):
        check_signature_image(_png(5000, 4000))


def test_the_external_signer_seam_is_an_interface_with_only_a_null_provider():
    signer: ExternalSigner = NoExternalSigner()
    assert signer.name == "none" and signer.sign_pdf(b"%PDF-1.7", "doc-1") == b"%PDF-1.7"


def test_the_hindi_demo_qr_decodes_at_100_dpi_and_verify_prints_the_medicines(tmp_path):
    out = tmp_path / "demo"
    subprocess.run([*VAIDYA, "rx", "demo", "--lang", "hi", "--out", str(out)], check=True, capture_output=True)
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "keys.json", "prescription.pdf", "qr.txt"]
    text = read_qr(rasterise((out / "prescription.pdf").read_bytes(), 100, tmp_path))
    assert text == (out / "qr.txt").read_text()
    result = subprocess.run([*VAIDYA, "rx", "verify", "--keys", str(out / "keys.json"), "--qr", text],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("VALID")
    assert "compare with the paper" in result.stdout
    for drug in ("ATENOLOL 50 mg tablet", "HYDROCHLOROTHIAZIDE 12.5 mg tablet", "PARACETAMOL 500 mg tablet"):
        assert drug in result.stdout, drug
    assert "hypertension" not in result.stdout.lower()  # the diagnosis is not the pharmacist's business


async def test_the_public_verify_page_lists_the_signed_medicines_and_not_the_diagnosis(site):
    from .test_web import _issue

    clinic, app, visitor = site
    _, issued = await _issue(visitor, clinic)
    from yarl import URL

    page = await (await (await visitor()).get(URL(issued["verify_url"]).path_qs)).text()
    assert "compare with the paper" in page and "PARACETAMOL" in page
    assert "Acute viral fever" not in page and "Diagnosis" not in page
    data = await (await (await visitor()).get(URL(issued["verify_url"]).path_qs,
                                               headers={"Accept": "application/json"})).json()
    assert [x["drug"] for x in data["signed_medicines"]] == ["Paracetamol"]
    assert "Acute viral fever" not in str(data)


def test_the_store_keeps_each_signature_image_and_a_pdf_uses_the_one_in_effect_when_signed(service):
    from datetime import timedelta

    from .builders import ISSUED

    assert service.store.signature_image("doc-1", ISSUED) is None
    first, later = _png(300, 100), _png(320, 100)
    service.store.add_signature_image("doc-1", first, ISSUED - timedelta(days=1))
    service.store.add_signature_image("doc-1", later, ISSUED + timedelta(days=1))
    assert service.store.signature_image("doc-1", ISSUED) == first
    assert service.store.signature_image("doc-2", ISSUED) is None


async def test_a_doctor_uploads_a_signature_image_and_it_is_printed_on_the_next_prescription(site):
    from .test_web import _issue

    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    form = {"csrf": doctor.csrf()["X-CSRF-Token"]}
    resp = await doctor.client.post("/rx/signature-image", allow_redirects=False,
                                    data={**form, "image": io.BytesIO(b"%PDF-1.7 not a picture")})
    assert resp.status == 400 and "PNG or JPEG" in await resp.text()
    resp = await doctor.client.post("/rx/signature-image", allow_redirects=False,
                                    data={**form, "image": io.BytesIO(_png())})
    assert resp.status == 303
    _, issued = await _issue(visitor, clinic)
    pdf = await (await doctor.get(f"/rx/{issued['id']}.pdf")).read()
    assert sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages) == 2  # the QR and the signature
    patient = await visitor("patient", "9800000001")
    resp = await patient.client.post("/rx/signature-image", allow_redirects=False,
                                     data={"csrf": patient.csrf()["X-CSRF-Token"], "image": io.BytesIO(_png())})
    assert resp.status in (302, 303, 401) and resp.headers.get("Location", "") != "/rx/mine"
    assert app[RX_SERVICE].store.signature_image(str(clinic.doctor_b), issued_at_now()) is None


async def test_a_forged_code_on_the_verify_page_shows_no_medicines_to_trust(site):
    from .test_web import _issue

    clinic, app, visitor = site
    _, issued = await _issue(visitor, clinic)
    code = issued["verify_url"].split("c=", 1)[1]
    broken = code[:-5] + ("1" if code[-5] != "1" else "2") + code[-4:]
    page = await (await (await visitor()).get(f"/rx/verify?c={broken}")).text()
    assert 'data-status="invalid"' in page
    assert "compare with the paper" not in page and "PARACETAMOL" not in page and "सीता" not in page


def test_the_signature_block_is_never_split_from_how_to_verify(service):
    for n in range(6, 14):  # line counts that push the block to the foot of page 1 or onto page 2
        rx = prescription(id=f"7K3M-9QXD-{n:04d}".replace("0", "A"), medicines=everyday_medicines(n))
        pages = [page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(service.issue(rx), BASE))).pages]
        [signed_on] = [p for p in pages if "Electronically signed by" in p]
        assert "To verify" in signed_on and "Ed25519 key" in signed_on, n
