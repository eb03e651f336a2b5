"""What a pharmacist sees and sends when dispensing: per-line fills so far, and quantities from the form.

Pure helpers for the verification page (rx.web); the limits themselves are enforced by RxService.dispense
and the store, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Prescription
from .store import Dispensation


@dataclass(frozen=True)
class Fill:
    """One line of the prescription: what was given so far of what may be given in all (None: no quantity
    was prescribed, the line may be dispensed once)."""

    line: int
    name: str
    given: int
    allowed: int | None

    @property
    def remaining(self) -> int | None:
        return None if self.allowed is None else max(0, self.allowed - self.given)


def fills(rx: Prescription, totals: Mapping[int, int]) -> list[Fill]:
    return [Fill(n, f"{m.generic_name.upper()} {m.strength}", totals.get(n, 0),
                 m.quantity * (1 + m.repeats) if m.quantity else None)
            for n, m in enumerate(rx.medicines)]


def quantities_from_form(form: Mapping[str, Any], lines: int) -> dict[int, int]:
    """{line: quantity} from fields q0, q1, …; blank fields are lines not dispensed now.

    Raises ValueError for anything but a whole number.
    """
    found: dict[int, int] = {}
    for n in range(lines):
        text = str(form.get(f"q{n}", "")).strip()
        if not text:
            continue
        if not text.isdigit() or len(text) > 6:
            raise ValueError(f"line {n + 1}: the quantity dispensed is a whole number")
        found[n] = int(text)
    return found


def dispensed_json(marks: list[Dispensation]) -> list[dict[str, Any]]:
    """The dispensing record as the public verification answer shows it: when, where, who, how much."""
    return [{"version": d.version, "at": d.dispensed_at.isoformat(), "pharmacy": d.pharmacy, "pharmacist": d.dispensed_by,
             "licence_number": d.licence_number, "lines": [{"line": n, "quantity": q} for n, q in d.lines]}
            for d in marks]
