"""How often the printed QR reads, by reader: `python -m tests.rx.qr_scan_survey --lines 5 --count 12`.

Renders `count` prescriptions with fresh IDs and signatures, rasterises page 1 at 100 dpi and as a
phone-like photo (tests/rx/test_qr_scan.py), and counts reads by zxing-cpp and by OpenCV's detectors.
The figures in docs/rx.md ("The QR code") come from this script.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import zxingcpp

from rx import pdf, qr
from rx.model import new_prescription_id
from rx.service import RxService
from rx.store import Store

from .builders import EVERYDAY_LINES, ISSUED, SECRET, everyday_medicines, prescription
from .test_qr_scan import phone_photo, rasterise

def _opencv(image) -> bool:
    return bool(cv2.QRCodeDetector().detectAndDecode(image)[0] or cv2.QRCodeDetectorAruco().detectAndDecode(image)[0])


def _zxing(image) -> bool:
    return bool(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5, choices=range(1, len(EVERYDAY_LINES) + 1))
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--mm", type=float, default=pdf.QR_MM, help="printed QR width")
    parser.add_argument("--error", default=qr.ERROR_CORRECTION, choices="lmqh")
    args = parser.parse_args()
    pdf.QR_MM, qr.ERROR_CORRECTION = args.mm, args.error
    counts = {"zxing-cpp 100 dpi": 0, "zxing-cpp photo": 0, "OpenCV 100 dpi": 0, "OpenCV photo": 0}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        service = RxService(Store(root / "vaidya.db"), SECRET, clock=lambda: ISSUED)
        lines = everyday_medicines(args.lines)
        for n in range(args.count):
            signed = service.issue(prescription(id=new_prescription_id(), medicines=lines))
            document = pdf.render_pdf(signed, "https://vaidya.example.in")
            (root / f"{n}a").mkdir()
            (root / f"{n}b").mkdir()
            scan = rasterise(document, 100, root / f"{n}a")
            photo = phone_photo(rasterise(document, 150, root / f"{n}b"), seed=n)
            counts["zxing-cpp 100 dpi"] += _zxing(scan)
            counts["zxing-cpp photo"] += _zxing(photo)
            counts["OpenCV 100 dpi"] += _opencv(scan)
            counts["OpenCV photo"] += _opencv(photo)
    print(f"{args.lines} lines, {args.mm:g} mm, EC {args.error.upper()}: "
          + ", ".join(f"{k} {v}/{args.count}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
