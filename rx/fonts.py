"""Which Noto fonts a prescription needs, and which characters no installed font can print.

Debian's fonts-noto-core ships one family per script. The PDF uses Noto Sans for Latin and adds a
fallback family for every Indian script (and Arabic, for Urdu) that occurs in the text, whatever the
patient's language: a doctor may write Hindi advice for a patient who reads English. A character that no
family covers (an emoji, Chinese) is refused before signing, rather than printed as an empty box.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONT_PACKAGE = "fonts-noto-core"
LATIN = "NotoSans"

#: The family for each supported language's script (Urdu: Naskh, whose text extracts reliably).
LANGUAGE_FONTS = {
    "en": LATIN, "hi": "NotoSansDevanagari", "mr": "NotoSansDevanagari", "bn": "NotoSansBengali",
    "te": "NotoSansTelugu", "ta": "NotoSansTamil", "gu": "NotoSansGujarati", "ur": "NotoNaskhArabic",
    "kn": "NotoSansKannada", "or": "NotoSansOriya", "ml": "NotoSansMalayalam",
}

#: Unicode blocks → the family that prints them.
_BLOCKS = (
    (0x0600, 0x06FF, "NotoNaskhArabic"), (0x0750, 0x077F, "NotoNaskhArabic"),
    (0xFB50, 0xFDFF, "NotoNaskhArabic"), (0xFE70, 0xFEFF, "NotoNaskhArabic"),
    (0x0900, 0x097F, "NotoSansDevanagari"), (0xA8E0, 0xA8FF, "NotoSansDevanagari"),
    (0x0980, 0x09FF, "NotoSansBengali"), (0x0A00, 0x0A7F, "NotoSansGurmukhi"),
    (0x0A80, 0x0AFF, "NotoSansGujarati"), (0x0B00, 0x0B7F, "NotoSansOriya"),
    (0x0B80, 0x0BFF, "NotoSansTamil"), (0x0C00, 0x0C7F, "NotoSansTelugu"),
    (0x0C80, 0x0CFF, "NotoSansKannada"), (0x0D00, 0x0D7F, "NotoSansMalayalam"),
    (0x2190, 0x21FF, "NotoSansMath"), (0x2200, 0x22FF, "NotoSansMath"),
)


class FontMissing(RuntimeError):
    """A Noto font file the PDF needs is not installed."""


def font_file(family: str, style: str = "Regular", font_dir: Path = FONT_DIR) -> Path:
    """The font file, or FontMissing naming the Debian package. Families without a bold use Regular."""
    path = font_dir / f"{family}-{style}.ttf"
    if not path.is_file() and style != "Regular":
        path = font_dir / f"{family}-Regular.ttf"
    if not path.is_file():
        raise FontMissing(
            f"font {path} is missing: install the Debian package {FONT_PACKAGE} "
            "(sudo apt-get install fonts-noto-core, or run scripts/install-system-deps.sh)"
        )
    return path


def _family_of(char: str) -> str | None:
    code = ord(char)
    for start, end, family in _BLOCKS:
        if start <= code <= end:
            return family
    return None


def families_for(text: str, lang: str) -> list[str]:
    """The fallback families this text needs beside Latin: the patient's script first, then the rest
    in order of first appearance."""
    found: list[str] = []
    first = LANGUAGE_FONTS.get(lang, LATIN)
    if first != LATIN:
        found.append(first)
    for char in text:
        family = _family_of(char)
        if family and family not in found:
            found.append(family)
    return found


@lru_cache(maxsize=64)
def _coverage(path: Path) -> frozenset[int]:
    font = TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def _ignorable(char: str) -> bool:
    """Whitespace and format characters (ZWJ, ZWNJ, direction marks) are shaping input, not glyphs."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def unprintable(text: str, font_dir: Path = FONT_DIR) -> list[str]:
    """Characters of `text` that neither Noto Sans nor the family of their script can print."""
    latin = _coverage(font_file(LATIN, font_dir=font_dir))
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if _ignorable(char) or ord(char) in latin:
            continue
        family = _family_of(char)
        if family is None or ord(char) not in _coverage(font_file(family, font_dir=font_dir)):
            missing.append(char)
    return missing
