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


def both(key: str, lang: str) -> str:
    """'<patient's language> / English', or just English when the patient reads English."""
    texts = catalog()[key]
    return texts["en"] if lang == "en" else f"{texts[lang]} / {texts['en']}"
