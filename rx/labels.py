"""Printed labels in the patient's language beside English (catalog: rx/data/labels.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from .model import LANGUAGES


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    data = json.loads(resources.files("rx.data").joinpath("labels.json").read_text(encoding="utf-8"))
    for key, texts in data.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"label {key!r} has no text for {', '.join(missing)}")
    return data


def local(key: str, lang: str) -> str:
    """The label in `lang` alone."""
    return catalog()[key][lang]


#: Right-to-left languages: English goes first so each mixed line keeps a left-to-right base direction
#: (the Unicode bidi algorithm takes it from the first strong character) and the layout stays aligned.
RIGHT_TO_LEFT = frozenset({"ur"})


def both(key: str, lang: str) -> str:
    """'<patient's language> / English' ('English / <language>' for Urdu), or English alone."""
    texts = catalog()[key]
    if lang == "en":
        return texts["en"]
    if lang in RIGHT_TO_LEFT:
        # The left-to-right mark keeps a following ':' and number (a date, a phone) out of the RTL run.
        return f"{texts['en']} / {texts[lang]}\u200e"
    return f"{texts[lang]} / {texts['en']}"
