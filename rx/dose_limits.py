"""How much of a drug a line gives (strength × dose × frequency) and the limits it must stay within:
adult maximum per dose and per day, and mg/kg limits for children (`rx/data/dose_limits.csv`, each
row with its source).

Amounts are read from what doctors write ("500 mg" × "1 tab", "250 mg/5 ml" × "7.5 ml", "650 mg"); what
cannot be read is None, never a guess.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources

from .dosage import FREQUENCIES

_UNIT_MG = {"mcg": 0.001, "µg": 0.001, "ug": 0.001, "mg": 1.0, "g": 1000.0, "gm": 1000.0}
_NUMBER = r"(\d+(?:\.\d+)?|\d+/\d+|½|¼|¾|half|one|two|three|four)"
_WORDS = {"½": 0.5, "¼": 0.25, "¾": 0.75, "half": 0.5, "one": 1, "two": 2, "three": 3, "four": 4}
_UNIT_DOSE = r"(?:tab|tablet|tabs|tablets|cap|caps|capsule|capsules|sachet|sachets|unit|units|pill|pills)?"


def _number(text: str) -> float:
    return float(_WORDS.get(text, Fraction(text) if "/" in text else text))


def mg_per_dose(strength: str, dose: str) -> float | None:
    """Milligrams in one dose, or None when strength and dose do not say (combinations, puffs, drops)."""
    s, d = strength.strip().lower(), dose.strip().lower()
    if "+" in s:
        return None
    m = re.fullmatch(rf"{_NUMBER}\s*(mcg|µg|ug|mg|gm|g)\s*(?:(?:/|per|in)\s*(\d+(?:\.\d+)?)?\s*ml)?", s)
    if m is None:
        return None
    amount, per_ml = _number(m.group(1)) * _UNIT_MG[m.group(2)], m.group(3)
    per_volume = "ml" in s
    own = re.fullmatch(rf"{_NUMBER}\s*(mcg|µg|ug|mg|gm|g)", d)
    if own:
        return _number(own.group(1)) * _UNIT_MG[own.group(2)]
    ml = re.fullmatch(rf"{_NUMBER}\s*(?:ml|millilitres?)", d)
    if ml:
        return _number(ml.group(1)) * amount / float(per_ml or 1) if per_volume else None
    units = re.fullmatch(rf"{_NUMBER}\s*{_UNIT_DOSE}", d)
    if units and not per_volume:
        return _number(units.group(1)) * amount
    return None


def doses_per_day(code: str) -> float | None:
    """Doses a day for a frequency code (WEEKLY is 1/7); None for 'when needed' and unknown codes."""
    f = FREQUENCIES.get(code)
    if f is None or f.as_needed:
        return None
    if f.period is None:
        return 1.0  # STAT: one dose
    per_unit = {"h": 24.0, "d": 1.0, "wk": 1 / 7}[f.period_unit or "d"]
    return (f.frequency or 1) * per_unit / f.period


@dataclass(frozen=True)
class DoseLimit:
    drug: str
    adult_max_mg_dose: float | None
    adult_max_mg_day: float | None
    adult_warn_mg_day: float | None
    child_mg_kg_dose: float | None
    child_mg_kg_day: float | None
    source: str

    @property
    def weight_based(self) -> bool:
        return self.child_mg_kg_dose is not None or self.child_mg_kg_day is not None


def load_dose_limits() -> dict[str, DoseLimit]:
    """The limits by formulary generic name (lower case)."""
    text = resources.files("rx.data").joinpath("dose_limits.csv").read_text(encoding="utf-8")
    limits = {}
    for row in csv.DictReader(text.splitlines()):
        value = {k: float(v) if v else None for k, v in row.items() if k not in ("drug", "source")}
        limits[row["drug"].lower()] = DoseLimit(row["drug"], source=row["source"], **value)
    return limits


@lru_cache(maxsize=1)
def default_dose_limits() -> dict[str, DoseLimit]:
    return load_dose_limits()
