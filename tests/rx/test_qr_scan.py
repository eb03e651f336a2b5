"""The printed QR decodes (zxing-cpp) from the PDF rasterised at 100 dpi (a cheap office scan) and from a
phone-photo-like image (tilted, blurred, noisy, unevenly lit), and what it decodes to verifies with the
medicines listed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from rx.pdf import render_pdf
from rx.verify import verify_offline

from .builders import everyday_medicines, prescription

BASE = "https://vaidya.example.in"
pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="pdftoppm (Debian poppler-utils) is not installed")


def rasterise(pdf: bytes, dpi: int, folder: Path) -> np.ndarray:
    """Page 1 of the PDF as a greyscale image, as poppler renders it for a scanner or printer."""
    (folder / "rx.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", "1", "-l", "1", str(folder / "rx.pdf"),
                    str(folder / "page")], check=True)
    [png] = folder.glob("page*.png")
    return cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)


def read_qr(image: np.ndarray) -> str:
    """zxing-cpp, the C++ port of ZXing (the reader family in phone apps and browsers' barcode APIs).

    OpenCV's two detectors read these codes only part of the time at 100 dpi (docs/rx.md has the counts),
    also when a phone app reads them every time, so they would test OpenCV rather than the printout.
    """
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else ""


def phone_photo(page: np.ndarray, seed: int = 7) -> np.ndarray:
    """The page as a hand-held phone sees it: seen at an angle, slightly out of focus, uneven light, sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = page.shape
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + np.float32([[0.06 * w, 0.03 * h], [-0.02 * w, 0.0], [0.0, -0.02 * h], [0.03 * w, -0.05 * h]])
    warped = cv2.warpPerspective(page, cv2.getPerspectiveTransform(corners, moved), (w, h),
                                 borderValue=255)
    blurred = cv2.GaussianBlur(warped, (0, 0), sigmaX=1.2)
    light = np.linspace(0.75, 1.0, w, dtype=np.float32)[None, :]
    noisy = blurred.astype(np.float32) * light + rng.normal(0, 10, (h, w)).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _five_lines():
    return everyday_medicines(5, instructions="after food")


@pytest.fixture
def five_line_pdf(service):
    signed = service.issue(prescription(medicines=_five_lines()))
    return signed, render_pdf(signed, BASE)


def test_the_qr_decodes_from_the_pdf_rasterised_at_100_dpi_and_lists_the_medicines(service, five_line_pdf,
                                                                                      tmp_path):
    signed, pdf = five_line_pdf
    text = read_qr(rasterise(pdf, 100, tmp_path))
    assert text, "OpenCV found no QR code at 100 dpi"
    verdict = verify_offline(text, service.registry())
    assert verdict.ok and verdict.rx_id == signed.prescription.id
    assert [x.drug for x in verdict.signed_lines] == [m.generic_name for m in _five_lines()]


def test_the_qr_decodes_from_a_phone_photo_of_the_page(service, five_line_pdf, tmp_path):
    signed, pdf = five_line_pdf
    photo = phone_photo(rasterise(pdf, 150, tmp_path))
    text = read_qr(photo)
    assert text, "OpenCV found no QR code in the phone-like photo"
    assert verify_offline(text, service.registry()).rx_id == signed.prescription.id
