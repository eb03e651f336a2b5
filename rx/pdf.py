"""The printable prescription: TPG Annexure 2 layout, labels in the patient's language and English.

fpdf2 shapes text with HarfBuzz (uharfbuzz) and embeds subsets of Debian's Noto fonts, so conjuncts,
vowel signs and right-to-left Urdu come out as written. The PDF carries its signed canonical bytes and
the QR text as attachments, which `vaidya rx verify FILE.pdf` reads.
"""

from __future__ import annotations

import io
from datetime import tzinfo
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from . import labels
from .dosage import FREQUENCIES, ROUTES
from .fonts import FONT_DIR, LATIN, families_for, font_file
from .localtime import DEFAULT_ZONE, date_text, local_date_text, local_stamp
from .model import LANGUAGES, Medicine, Prescription, Signed
from .qr import payload_for, qr_png, verification_url
from .verify import PDF_CONTENT_NAME, PDF_QR_NAME

RULE = (150, 150, 150)
#: Largest printed size of the doctor's signature image (width, height), mm.
SIGNATURE_IMAGE_MM = (50, 18)
#: Height of the signature block without the image (rule, signer, registration, key and time, how to
#: verify on up to two lines), mm.
SIGNATURE_BLOCK_MM = 28
#: Printed width of the QR code, mm (see docs/rx.md: it must decode from a 100 dpi scan).
QR_MM = 70


class _Page(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font("body", size=8)
        self.cell(0, 5, self.footer_text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4, f"{self.page_no()}/{{nb}}", align="C")


def render_pdf(signed: Signed, base_url: str, font_dir: Path = FONT_DIR, zone: tzinfo = DEFAULT_ZONE,
               signature_image: bytes | None = None) -> bytes:
    """The prescription as a PDF, with its QR code and the signed bytes attached.

    Dates and times are printed in the clinic's zone (`zone`); `signature_image` is the doctor's
    uploaded signature (checked by `rx.signature_image.check_signature_image`), printed if given.
    """
    rx = signed.prescription
    lang = rx.patient.language if rx.patient.language in LANGUAGES else "en"
    pdf = _Page(format="A4")
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=20)
    fallbacks = families_for(signed.canonical.decode("utf-8"), lang)
    for style, file_style in (("", "Regular"), ("B", "Bold")):
        pdf.add_font("body", style=style, fname=font_file(LATIN, file_style, font_dir))
        for n, family in enumerate(fallbacks):
            pdf.add_font(f"script{n}", style=style, fname=font_file(family, file_style, font_dir))
    if fallbacks:
        pdf.set_fallback_fonts([f"script{n}" for n in range(len(fallbacks))], exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_title(f"Prescription {rx.id} v{rx.version}")
    pdf.set_author(rx.doctor.name)
    pdf.set_creator("Vaidya")
    pdf.set_creation_date(signed.signed_at)
    pdf.footer_text = labels.both("footer", lang)
    pdf.add_page()

    qr_text = verification_url(base_url, payload_for(signed))
    _header(pdf, rx, lang, qr_text, zone)
    _patient(pdf, rx, lang)
    for key, text in (("complaints", rx.chief_complaints), ("history", rx.history), ("findings", rx.findings),
                      ("investigations", rx.investigations)):
        _section(pdf, labels.both(key, lang), text)
    _section(pdf, labels.both("provisional_diagnosis" if rx.provisional else "diagnosis", lang), rx.diagnosis)
    _medicines(pdf, rx, lang)
    _section(pdf, labels.both("advice", lang), rx.advice)
    if rx.follow_up:
        _section(pdf, labels.both("follow_up", lang), date_text(rx.follow_up))
    _signature(pdf, signed, lang, base_url, zone, signature_image)

    pdf.embed_file(bytes=signed.canonical, basename=PDF_CONTENT_NAME, mime_type="application/json",
                   desc="Signed canonical prescription (vaidya-rx/1)", modification_date=signed.signed_at)
    pdf.embed_file(bytes=qr_text.encode("utf-8"), basename=PDF_QR_NAME, mime_type="text/plain",
                   desc="The QR code's text: signature and verification URL", modification_date=signed.signed_at)
    _map_unmapped_glyphs(pdf)
    return bytes(pdf.output())


def _map_unmapped_glyphs(pdf: FPDF) -> None:
    """Give glyphs with no Unicode text a zero-width space in the ToUnicode map.

    After shaping, fpdf2 gives a cluster's text to its first glyph and none to the rest (the consonant
    after a pre-base vowel sign, a split vowel's second part). Unmapped glyphs make extractors print
    their raw codes ('%', ')'); an invisible U+200B keeps copied and searched text as written.
    """
    for font in pdf.fonts.values():
        subset = getattr(font, "subset", None)
        if subset is None:
            continue
        for glyph, _code in subset.items():
            if glyph is not None and isinstance(glyph.unicode, tuple) and len(glyph.unicode) == 0:
                glyph.unicode = (0x200B,)


def _header(pdf: FPDF, rx: Prescription, lang: str, qr_text: str, zone: tzinfo) -> None:
    top = pdf.get_y()
    qr_size = QR_MM
    pdf.image(io.BytesIO(qr_png(qr_text)), x=pdf.w - pdf.r_margin - qr_size, y=top, w=qr_size, h=qr_size)
    pdf.set_xy(pdf.w - pdf.r_margin - qr_size, top + qr_size)
    pdf.set_font("body", size=7)
    pdf.multi_cell(qr_size, 3.2, labels.both("verify", lang), align="C")
    pdf.set_xy(pdf.l_margin, top)
    width = pdf.w - pdf.l_margin - pdf.r_margin - qr_size - 4
    d = rx.doctor
    pdf.set_font("body", "B", 15)
    pdf.multi_cell(width, 7, d.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=9.5)
    for line in (f"{labels.both('qualification', lang)}: {d.qualification}",
                 f"{labels.both('registration', lang)}: {d.registration_number} ({d.council})",
                 f"{labels.both('contact', lang)}: {d.contact}" if d.contact else "",
                 d.facility):
        if line:
            pdf.multi_cell(width, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("body", "B", 13)
    pdf.multi_cell(width, 7, labels.both("title", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=9.5)
    pdf.multi_cell(width, 5, f"{labels.both('date', lang)}: {local_date_text(rx.issued_at, zone)}", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    version = f"{labels.both('version', lang)}: {rx.version}"
    if rx.supersedes:
        version += f"   ({labels.both('supersedes', lang)} {rx.supersedes})"
    # two lines: beside the QR code the column is narrow, and a wrapped "Version: 2" reads badly
    for line in (f"{labels.both('prescription_id', lang)}: {rx.id}", version):
        pdf.multi_cell(width, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + qr_size + 7))
    _rule(pdf)


def _patient(pdf: FPDF, rx: Prescription, lang: str) -> None:
    p, c = rx.patient, rx.consultation
    pdf.set_font("body", "B", 10.5)
    pdf.multi_cell(0, 6, f"{labels.both('patient', lang)}: {p.name}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=9.5)
    facts = [f"{labels.both('age', lang)}: {p.age_years} {labels.both('years', lang)}",
             f"{labels.both('sex', lang)}: {labels.both(p.sex.value, lang)}"]
    if p.weight_kg:
        facts.append(f"{labels.both('weight', lang)}: {p.weight_kg} kg")
    if p.height_cm:
        facts.append(f"{labels.both('height', lang)}: {p.height_cm} cm")
    if p.lmp:
        facts.append(f"{labels.both('lmp', lang)}: {date_text(p.lmp)}")
    if p.accompanying_adult:
        facts.append(f"{labels.both('accompanied_by', lang)}: {p.accompanying_adult}")
    # Short facts share lines (wrapping between facts, never inside one) so the page holds the Rx.
    pdf.multi_cell(0, 5, "   ·   ".join(fact.replace(" ", "\u00a0") for fact in facts), new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.multi_cell(0, 5, f"{labels.both('consultation', lang)}: {labels.both(c.mode.value, lang)}, "
                   f"{labels.both('first' if c.visit.value == 'first' else 'follow_up_visit', lang)}",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if c.in_person is not None:  # the declared basis of List B add-ons, as signed
        v = c.in_person
        pdf.multi_cell(0, 5, f"{labels.both('in_person_visit', lang)}: {date_text(v.on)}, {v.place} "
                       f"({', '.join(v.treatment)})", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    _rule(pdf)


def _section(pdf: FPDF, title: str, text: str) -> None:
    if not text.strip():
        return
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(0, 5.5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=9.5)
    pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def _medicines(pdf: FPDF, rx: Prescription, lang: str) -> None:
    if not rx.medicines:
        return
    pdf.set_font("body", "B", 16)
    pdf.cell(10, 8, "Rx")
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(0, 8, labels.both("medicines", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=8.5)
    heads = ["#", labels.both("medicines", lang), labels.both("dose", lang), labels.both("frequency", lang),
             labels.both("duration", lang), labels.both("route", lang), labels.both("instructions", lang)]
    with pdf.table(col_widths=(6, 44, 20, 32, 18, 28, 32), line_height=4.6, text_align="LEFT",
                   borders_layout="HORIZONTAL_LINES", padding=1.2) as table:
        row = table.row()
        for head in heads:
            row.cell(head)
        for n, m in enumerate(rx.medicines, start=1):
            freq = labels.both(f"freq_{m.frequency}", lang) if m.frequency in FREQUENCIES else m.frequency
            name = f"{m.generic_name.upper()} {m.strength} ({m.form})"
            row = table.row()
            route = labels.both(f"route_{m.route}", lang) if m.route in ROUTES else m.route
            # The instructions are the doctor's own words, printed as written.
            # The quantity to dispense goes under the medicine it belongs to (the narrow duration column
            # would stretch every row).
            for value in (str(n), name + _quantity(m, lang), m.dose, freq,
                          f"{m.duration_days} {labels.both('days', lang)}", route, m.instructions):
                row.cell(value)
    pdf.ln(2)


def _quantity(m: Medicine, lang: str) -> str:
    """The quantity to dispense (and repeats) under the medicine's name; lines signed before quantities
    existed show none."""
    if not m.quantity:
        return ""
    repeats = f" (+{m.repeats} {labels.both('repeats', lang)})" if m.repeats else ""
    return f"\n{labels.both('quantity', lang)}: {m.quantity}{repeats}"


def _signature(pdf: FPDF, signed: Signed, lang: str, base_url: str, zone: tzinfo,
               image: bytes | None) -> None:
    """'Electronically signed' (not 'digitally signed': in India that means a signature under a licensed
    certifying authority's certificate, IT Act 2000 s. 3 and 35), the signer, and how to verify."""
    d = signed.prescription.doctor
    # The block stays on one page: a signature split from its verification line reads as unsigned.
    if pdf.will_page_break(SIGNATURE_BLOCK_MM + (SIGNATURE_IMAGE_MM[1] + 1 if image is not None else 0)):
        pdf.add_page()
    pdf.ln(2)
    _rule(pdf)
    if image is not None:
        pdf.image(io.BytesIO(image), x=pdf.l_margin, h=SIGNATURE_IMAGE_MM[1], keep_aspect_ratio=True,
                  w=SIGNATURE_IMAGE_MM[0])
        pdf.set_x(pdf.l_margin)
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(0, 5.5, f"{labels.both('signature', lang)}: {d.name}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=8.5)
    pdf.multi_cell(0, 4.5, f"{d.qualification} · {labels.both('registration', lang)} {d.registration_number} "
                   f"({d.council})", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 4.5, f"Ed25519 key {signed.key_id} · {local_stamp(signed.signed_at, zone)}",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rx = signed.prescription
    pdf.multi_cell(0, 4.5, f"{labels.both('verify_how', lang)}: {base_url.rstrip('/')}/rx/verify · "
                   f"{labels.both('prescription_id', lang)}: {rx.id}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _rule(pdf: FPDF) -> None:
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
