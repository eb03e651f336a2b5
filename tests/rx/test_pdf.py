"""The PDF: required fields, scripts extracted as written, fonts embedded and shaped, and a scannable QR."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
import unicodedata

import cv2
import numpy as np
import pytest
from pypdf import PdfReader

from rx.fonts import FontMissing
from rx.pdf import render_pdf
from rx.verify import Status, verify_online

from .builders import medicine, patient, prescription

BASE = "https://vaidya.example.in"
NAMES = {"hi": "सीता देवी", "bn": "সীতা দেবী", "ta": "சீதா தேவி", "ur": "سیتا دیوی"}
#: Labels printed in each language that must come back as written.
LABELS = {
    "hi": ["दवा पर्ची", "मुख्य शिकायतें", "अस्थायी निदान", "दिन में तीन बार", "यह पर्चा टेलीपरामर्श के दौरान बनाया गया है।"],
    "bn": ["ব্যবস্থাপত্র", "প্রধান অভিযোগ", "প্রাথমিক রোগনির্ণয়", "দিনে তিনবার"],
    "ta": ["மருந்துச் சீட்டு", "முக்கிய புகார்கள்", "தற்காலிக நோயறிதல்", "நாளொன்றுக்கு மூன்று முறை"],
    "ur": ["نسخہ", "اہم شکایات", "عارضی تشخیص", "دن میں تین بار"],
}


def _signed(service, lang: str, **changes):
    rx = prescription(patient=patient(language=lang, name=NAMES.get(lang, "Sita Devi")),
                      medicines=(medicine(), medicine("Cetirizine", strength="10 mg", frequency="HS", duration_days=5)),
                      **changes)
    return service.issue(rx)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _letters(text: str) -> str:
    """Characters in order, without whitespace or invisible format characters.

    Extractors infer spaces from glyph positions (a shaped vowel sign can look like a gap), and our PDF
    maps glyphs that carry no text of their own to U+200B; neither is part of what was written.
    """
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def test_the_pdf_carries_every_field_tpg_annexure_2_asks_for(service):
    pdf = render_pdf(_signed(service, "en"), BASE)
    text = _text(pdf)
    for needed in ("Dr. Asha Rao", "MBBS, MD (General Medicine)", "KMC-48213", "Karnataka Medical Council",
                   "Date: 26-11-2026", "Patient: Sita Devi", "Age: 42 years", "Sex: Female", "Weight: 58.5 kg",
                   "Chief complaints", "Fever for 2 days", "Relevant history", "Examination / lab findings",
                   "Suggested investigations", "Provisional diagnosis", "Acute viral fever",
                   "PARACETAMOL 500 mg", "CETIRIZINE 10 mg", "three times a day", "3 days", "Advice",
                   "Follow-up", "29-11-2026", "Electronically signed by: Dr. Asha Rao",
                   "This prescription was generated on a teleconsultation."):
        assert needed in text, needed


@pytest.mark.parametrize("lang", ["hi", "bn", "ta"])
def test_indic_text_comes_back_as_the_characters_written(service, lang):
    text = _letters(_text(render_pdf(_signed(service, lang), BASE)))
    for written in [NAMES[lang], *LABELS[lang]]:
        assert _letters(written) in text, written


def test_urdu_words_come_back_as_written(service):
    text = _text(render_pdf(_signed(service, "ur"), BASE))
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    words = set(re.split(r"[\s/:،]+", visible))
    for written in [NAMES["ur"], *LABELS["ur"]]:
        for word in written.split():
            assert word in words, word


def _fonts(pdf: bytes) -> dict[str, object]:
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


def test_every_font_is_embedded_and_the_script_font_is_used(service):
    fonts = _fonts(render_pdf(_signed(service, "hi"), BASE))
    assert any("NotoSansDevanagari" in name for name in fonts)
    for name, font in fonts.items():
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{name} is not embedded"


def test_shaping_is_on_so_conjuncts_are_single_glyphs(service):
    signed = _signed(service, "hi", diagnosis="क्षय रोग की आशंका (suspected tuberculosis)")
    fonts = _fonts(render_pdf(signed, BASE))
    [devanagari] = [f for n, f in fonts.items() if n.endswith("+NotoSansDevanagari")]
    cmap = devanagari["/ToUnicode"].get_object().get_data().decode("latin-1")
    # A glyph standing for several characters (here क्ष = क + ् + ष) exists only when HarfBuzz shaped the text.
    multi = re.findall(r"<[0-9A-F]{4}> <([0-9A-F]{12,})>", cmap)
    assert "0915094D0937" in multi


def test_a_missing_font_is_a_clear_error_naming_the_debian_package(service, tmp_path):
    with pytest.raises(FontMissing, match="fonts-noto-core"):
        render_pdf(_signed(service, "hi"), BASE, font_dir=tmp_path)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (Debian poppler-utils) is not installed")
def test_the_printed_qr_rasterised_and_read_by_opencv_verifies(service, tmp_path):
    signed = _signed(service, "hi")
    (tmp_path / "rx.pdf").write_bytes(render_pdf(signed, BASE))
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", "1", "-l", "1", str(tmp_path / "rx.pdf"),
                    str(tmp_path / "page")], check=True)
    [png] = tmp_path.glob("page*.png")
    image = cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    # OpenCV's classic detector misses about 4 % of these codes on a clean 200 dpi render (which ones
    # depends on the signature's bit pattern); its ArUco-based detector reads all of them (100 of 100
    # random signatures). Phones scan with stronger readers; the test tries both OpenCV detectors.
    text = cv2.QRCodeDetector().detectAndDecode(image)[0] or cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]
    assert text.startswith(BASE + "/rx/verify?c=RX2.")
    verdict = verify_online(text, service.store)
    assert verdict.status is Status.VALID and verdict.rx_id == signed.prescription.id


def test_the_pdf_for_a_correction_names_the_version_it_replaces(service):
    first = _signed(service, "en")
    second = service.correct(first.prescription.id, "doc-1", advice="Rest for two days")
    text = _text(render_pdf(second, BASE))
    assert "Version: 2" in text and "Replaces version 1" in text


def test_a_minor_shows_the_accompanying_adult(service):
    rx = dataclasses.replace(prescription(), patient=patient(age_years=9, language="en",
                                                             accompanying_adult="Ramesh Kumar (father)"))
    text = _text(render_pdf(service.issue(rx), BASE))
    assert "Accompanied by: Ramesh Kumar (father)" in text


def test_hindi_written_for_an_english_reading_patient_is_printed_in_a_devanagari_font(service):
    signed = service.issue(prescription(patient=patient(language="en"), advice="आराम करें, पानी ज़्यादा पिएँ"))
    pdf = render_pdf(signed, BASE)
    assert any(name.endswith("NotoSansDevanagari") for name in _fonts(pdf))
    assert _letters("आराम करें, पानी ज़्यादा पिएँ") in _letters(_text(pdf))


def test_text_no_installed_font_can_print_is_refused_before_signing(service):
    from rx.rules import RuleViolation

    with pytest.raises(RuleViolation) as caught:
        service.issue(prescription(advice="Rest well 😀 and drink 水"))
    [problem] = caught.value.problems
    assert problem.code == "unprintable" and "😀" in problem.message and "水" in problem.message
    assert service.store.versions(prescription().id) == []
