"""What the prescription form suggests as the doctor types a drug: formulary matches, each with its TPG
list and whether this consultation may prescribe it, and why not, before the doctor fills the line in.
The same rules decide at signing (rx.rules); this only says it earlier."""

from __future__ import annotations

from typing import Any

from .formulary import Formulary, TpgList, search
from .line_sanity import controlled_refusal
from .model import Consultation, Medicine
from .rules import list_refusal

#: Longer than any drug name a doctor types; a longer query is refused, not searched.
MAX_TYPED = 80


def suggestions(formulary: Formulary, consultation: Consultation, typed: str, limit: int = 8) -> list[dict[str, Any]]:
    """Formulary drugs for `typed`, best first, as the form shows them (with their common strengths and
    forms); a controlled substance typed by any spelling (NDPS, Schedule X) comes first, refused with the
    act named."""
    found: list[dict[str, Any]] = []
    probe = Medicine(generic_name=typed, strength="", form="", dose="", frequency="", duration_days=0)
    refusal = controlled_refusal(probe, formulary)
    if refusal is not None:
        found.append({"generic_name": typed.strip(), "matched": typed.strip(), "category": "controlled substance",
                      "list": TpgList.PROHIBITED.value, "forms": [], "allowed": False, "reason": refusal,
                      "basis": "", "presentations": []})
    for match in search(formulary, typed, limit):
        drug = match.drug
        # a List A drug at an audio follow-up is allowed as a refill: say so rather than refuse outright
        reason = list_refusal(drug.tpg_list, consultation)
        refill_only = reason is not None and drug.tpg_list is TpgList.A and list_refusal(
            drug.tpg_list, consultation, refill=True) is None
        found.append({
            "generic_name": drug.generic_name,
            "matched": match.matched,
            "category": drug.category,
            "list": drug.tpg_list.value,
            "forms": sorted(drug.forms),
            "allowed": reason is None or refill_only,
            "reason": ("only as a refill of a medicine the patient already takes (mark the line as a refill)"
                       if refill_only else reason),
            "basis": drug.basis,
            # suggestions to pick from, not limits: the strength and form fields stay free text
            "presentations": [{"strength": p.strength, "form": p.form} for p in drug.presentations],
        })
    return found[:limit]
