"""A drug's presentation as a doctor writes it on a prescription: a strength and a dosage form
("650 mg tablet", "120 mg/5 mL suspension", "500 mg + 125 mg tablet", "0.1% nasal drops").

The formulary offers these as suggestions; the prescription's strength and form fields stay free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .forms import form_class

_AMOUNT = r"\d+(?:\.\d+)?\s*(?:mg|mcg|g|mL|IU|%)"
_PER = r"/\s*(?:\d+(?:\.\d+)?\s*)?(?:mg|g|mL|dose)"
#: One amount, or a combination joined by "+", optionally per a volume, mass or dose ("/5 mL", "/dose").
_STRENGTH = re.compile(rf"{_AMOUNT}(?:\s*\+\s*{_AMOUNT})*(?:\s*{_PER})?(?![\w%/+])")


@dataclass(frozen=True)
class Presentation:
    strength: str
    form: str

    def __str__(self) -> str:
        return f"{self.strength} {self.form}"


def parse_presentation(text: str) -> Presentation:
    """Split "650 mg tablet" into its strength and form; ValueError says what is missing or unread."""
    text = " ".join(text.split())
    found = _STRENGTH.match(text)
    if found is None:
        raise ValueError(f"presentation {text!r} has no strength (an amount such as '500 mg' or '0.1%' first)")
    strength, form = " ".join(found.group().split()), text[found.end():].strip()
    if not form:
        raise ValueError(f"presentation {text!r} has no form after its strength")
    if form_class(form) is None:
        raise ValueError(f"presentation {text!r}: the form {form!r} is not one rx.forms can read")
    return Presentation(strength, form)
