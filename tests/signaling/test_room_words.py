"""The room page's words: every key of room-words.js ENGLISH in every portal language, with the same
placeholders, none left in English; and every word the page shows comes from those tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portal.i18n import LANGUAGES, NATIVE_NAMES

STATIC = Path(__file__).parents[2] / "signaling" / "static"
ENTRY = re.compile(r'^\s+(\w+): ("(?:[^"\\]|\\.)*"),$', re.MULTILINE)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def table(text: str) -> dict[str, str]:
    return {key: json.loads(value) for key, value in ENTRY.findall(text)}


def english() -> dict[str, str]:
    source = (STATIC / "room-words.js").read_text()
    start = source.index("export const ENGLISH = {")
    return table(source[start:source.index("};", start)])


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_each_language_has_every_key_with_its_placeholders_and_no_english_left(code: str) -> None:
    words = table((STATIC / "words" / f"{code}.js").read_text())
    base = english()
    assert list(words) == list(base), f"{code}: keys differ from ENGLISH (missing: {set(base) - set(words)})"
    for key, phrase in words.items():
        assert phrase.strip(), (code, key)
        assert set(PLACEHOLDER.findall(phrase)) == set(PLACEHOLDER.findall(base[key])), (code, key)
        assert phrase != base[key], f"{code}: {key} is still English"


def test_the_picker_names_each_language_as_the_portal_does() -> None:
    source = (STATIC / "room-words.js").read_text()
    names = dict(re.findall(r'(\w+): "([^"]+)"', source[source.index("LANGUAGE_NAMES"):]))
    assert {code: names[code] for code in LANGUAGES} == dict(NATIVE_NAMES)


def test_every_word_key_the_page_uses_exists_and_no_english_sentence_is_hard_coded() -> None:
    base = english()
    page = (STATIC / "room.js").read_text()
    html = (STATIC / "room.html").read_text()
    used = set(re.findall(r'\btr\("(\w+)"', page)) | set(re.findall(r'(?:say|setPhotoStatus)\("(\w+)"', page))
    used |= set(re.findall(r'dataset\.w = "(\w+)"', page)) | set(re.findall(r'data-w(?:-label|-placeholder)?="(\w+)"', html))
    used |= set(re.findall(r'\["(\w+)", (?:null|"T3"|"A")\]', page)) | set(re.findall(r':\s*"(\w+)"', page[:page.index("const VIDEO")]))
    assert used - set(base) == set(), "keys the page uses but ENGLISH lacks"
    # A capitalised English phrase in a string literal of room.js would be a word that is never translated.
    literals = re.findall(r'"([A-Z][a-z]+(?: [a-z]+)+[.…]?)"', page)
    assert literals == [], literals
