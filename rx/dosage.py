"""Dosage vocabulary: frequency codes doctors in India write, and routes, with their FHIR/SNOMED forms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Frequency:
    code: str
    english: str
    #: FHIR Timing.repeat: `frequency` times per `period` `period_unit`; None for "as needed" and "once".
    frequency: int | None
    period: int | None
    period_unit: str | None
    as_needed: bool = False


FREQUENCIES: dict[str, Frequency] = {
    f.code: f
    for f in (
        Frequency("OD", "once a day", 1, 1, "d"),
        Frequency("BD", "twice a day", 2, 1, "d"),
        Frequency("TDS", "three times a day", 3, 1, "d"),
        Frequency("QID", "four times a day", 4, 1, "d"),
        Frequency("HS", "at bedtime", 1, 1, "d"),
        Frequency("Q6H", "every 6 hours", 1, 6, "h"),
        Frequency("Q8H", "every 8 hours", 1, 8, "h"),
        Frequency("WEEKLY", "once a week", 1, 1, "wk"),
        Frequency("SOS", "when needed", None, None, None, as_needed=True),
        Frequency("STAT", "once, immediately", 1, None, None),
    )
}

#: Route → SNOMED CT code (Route of administration value set used by the ABDM IG).
ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("26643006", "Oral route"),
    "topical": ("6064005", "Topical route"),
    "inhalation": ("447694001", "Respiratory tract route"),
    "nasal": ("46713006", "Nasal route"),
    "ophthalmic": ("54485002", "Ophthalmic route"),
    "otic": ("10547007", "Otic route"),
    "sublingual": ("37839007", "Sublingual route"),
    "rectal": ("37161004", "Rectal route"),
    "vaginal": ("16857009", "Vaginal route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
}

#: Instruction text → SNOMED CT additional dosage instruction, where one is certain.
AFTER_FOOD = ("311504000", "With or after food")
