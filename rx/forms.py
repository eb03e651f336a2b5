"""Dosage forms as doctors write them ("tab", "syp", "MDI", "eye drops"), grouped into classes, and the
routes each class can be given by: no oral cream, no inhaled tablet.

The form field is free text, so a form we cannot read is never refused here, only not checked.
"""

from __future__ import annotations

import re

#: Form class → routes it can take (route names as in rx.dosage.ROUTES). A tablet may be sublingual or
#: vaginal, a capsule may be inhaled (rotacaps), a cream may be used in the eye, nose, ear, vagina or rectum.
CLASS_ROUTES: dict[str, frozenset[str]] = {
    "tablet": frozenset({"oral", "sublingual", "vaginal"}),
    "capsule": frozenset({"oral", "inhalation", "vaginal"}),
    "liquid": frozenset({"oral"}),
    "drops": frozenset({"oral", "ophthalmic", "otic", "nasal"}),
    "eye drops": frozenset({"ophthalmic"}),
    "ear drops": frozenset({"otic"}),
    "nasal": frozenset({"nasal"}),
    "inhaler": frozenset({"inhalation"}),
    "topical": frozenset({"topical", "vaginal", "rectal", "ophthalmic", "nasal", "otic"}),
    "oromucosal": frozenset({"oral", "topical", "sublingual"}),
    "injection": frozenset({"subcutaneous", "intramuscular"}),
    "suppository": frozenset({"rectal", "vaginal"}),
    "pessary": frozenset({"vaginal"}),
    "patch": frozenset({"topical"}),
    "powder": frozenset({"oral", "topical"}),
    "lozenge": frozenset({"oral", "sublingual"}),
}

#: (pattern, class), first match wins: the specific ("eye drops", "oral gel", "rotacap") before the general.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"eye|ophthalmic|e/d", "eye drops"),
    (r"\bear\b|eardrop|otic", "ear drops"),
    (r"nasal|nose", "nasal"),
    (r"inhal|mdi|dpi|rotacap|revolizer|respule|nebul|accuhaler|evohaler|puff", "inhaler"),
    (r"oral gel|oral paste|mouth|gargle|gum paint|oromucosal", "oromucosal"),
    (r"inj|vial|ampoule", "injection"),
    (r"supp", "suppository"),
    (r"pessar|vaginal tab", "pessary"),
    (r"patch|transdermal", "patch"),
    (r"lozenge|troche", "lozenge"),
    (r"cream|ointment|oint|gel|lotion|paste|shampoo|soap|liniment|dusting|topical|application", "topical"),
    (r"tab|caplet", "tablet"),
    (r"cap", "capsule"),
    (r"syr|syp|susp|liquid|solution|elixir|linctus|mixture|emulsion", "liquid"),
    (r"drop", "drops"),
    (r"sachet|powder|granule", "powder"),
)


def form_class(form: str) -> str | None:
    """The class of a written form ("Tab.", "syrup", "Rotacap", "eye oint" …), or None if unknown."""
    text = " ".join(re.findall(r"[a-z/]+", form.lower()))
    if not text:
        return None
    if "eye" in text and re.search(r"oint|gel|cream", text):
        return "topical"  # an eye ointment is a topical preparation used in the eye
    for pattern, cls in _PATTERNS:
        if re.search(pattern, text):
            return cls
    return None


def route_allowed(form: str, route: str) -> bool:
    """Whether a line of this form may be given by this route (True when the form cannot be read)."""
    cls = form_class(form)
    return cls is None or route in CLASS_ROUTES[cls]
