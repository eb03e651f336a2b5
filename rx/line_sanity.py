"""What may be written on a medicine line, beyond the TPG lists: controlled substances by any spelling,
route consistent with form, dose limits (adult and per kg for children), duplicates, methotrexate weekly.

Refusals stop signing; warnings (Schedule H1, MTP Act, a shared ingredient, a dose above the usual
maximum) stop it only until the doctor acknowledges them on that line (`Medicine.warning_acknowledged`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .controlled import Action, Match, default_controlled, tokens
from .dose_limits import DoseLimit, default_dose_limits, doses_per_day, mg_per_dose
from .formulary import Drug, Formulary
from .forms import CLASS_ROUTES, form_class, route_allowed
from .model import Medicine, PatientSnapshot, Prescription

ADULT_AGE = 18
#: Words naming a form or a strength rather than an ingredient ("Salbutamol inhaler" is salbutamol).
_NOT_INGREDIENT = frozenset("""inhaler cream gel ointment lotion eye ear drops nasal spray oral tablet tablets syrup
suspension mouthwash gargle mg lozenges lozenge low dose""".split())


@dataclass(frozen=True)
class Finding:
    """A refusal or an unacknowledged warning about one line, in the shape of rules.Problem."""

    code: str
    field: str
    message: str


def controlled_match(medicine: Medicine, formulary: Formulary) -> Match | None:
    """The controlled substance (NDPS / Schedule X) this line names by any spelling, if any."""
    matches = default_controlled().find(medicine.generic_name, formulary.safe_words)
    return next((m for m in matches if m.entry.action is Action.REFUSE), None)


def controlled_refusal(medicine: Medicine, formulary: Formulary) -> str | None:
    """The reason this line can never be signed, naming the substance and the act or schedule."""
    match = controlled_match(medicine, formulary)
    if match is None:
        return None
    e = match.entry
    what = e.name if e.kind == "inn" else f"{e.name} ({e.substance})"
    if match.how == "typo":
        what = f"“{medicine.generic_name.strip()}” reads as {what}, which"
    return f"{what} is prohibited in teleconsultation ({e.law}): it can never be prescribed by telemedicine."


def _identity(medicine: Medicine, formulary: Formulary) -> tuple[Drug | None, str]:
    name = medicine.generic_name
    drug = formulary.mentioned_in(name, medicine.form) if medicine.free_text else formulary.lookup(name, medicine.form)
    return drug, drug.generic_name if drug else " ".join(tokens(name))


def _ingredients(key: str) -> frozenset[str]:
    parts = re.split(r"\+|\(|\)", key.lower())
    return frozenset(p for p in (" ".join(w for w in tokens(part) if w not in _NOT_INGREDIENT) for part in parts) if p)


def _weight(patient: PatientSnapshot) -> float | None:
    try:
        kg = float(patient.weight_kg.replace(",", "."))
    except ValueError:
        return None
    return kg if 0.5 <= kg <= 300 else None


def _dose_findings(m: Medicine, shown: str, limit: DoseLimit, patient: PatientSnapshot) -> tuple[list[str], list[str], list[str]]:
    """(codes, refusals, warnings) for the amounts on this line against its limits."""
    codes, refusals, warnings = [], [], []
    per_dose = mg_per_dose(m.strength, m.dose)
    per_day_count = doses_per_day(m.frequency)
    per_day = per_dose * per_day_count if per_dose is not None and per_day_count is not None else None
    minor = patient.age_years is not None and patient.age_years < ADULT_AGE
    if minor and limit.weight_based:
        kg = _weight(patient)
        if kg is None:
            return (["weight_required"], [f"{shown} is dosed by weight for a child: record the patient's weight in kg "
                                          "before signing."], [])
        if per_dose is None:
            warnings.append(f"{shown}: the amount per dose cannot be read from strength {m.strength!r} and dose "
                            f"{m.dose!r}, so the mg/kg limit for a child was not checked.")
        if per_dose is not None and limit.child_mg_kg_dose and per_dose > limit.child_mg_kg_dose * kg + 1e-9:
            codes.append("child_dose")
            refusals.append(f"{shown}: {per_dose:g} mg a dose is {per_dose / kg:.1f} mg/kg for {kg:g} kg; the limit for "
                            f"a child is {limit.child_mg_kg_dose:g} mg/kg a dose ({limit.source}).")
        if per_day is not None and limit.child_mg_kg_day and per_day > limit.child_mg_kg_day * kg + 1e-9:
            codes.append("child_dose")
            refusals.append(f"{shown}: {per_day:g} mg a day is {per_day / kg:.1f} mg/kg for {kg:g} kg; the limit for "
                            f"a child is {limit.child_mg_kg_day:g} mg/kg a day ({limit.source}).")
    if per_dose is not None and limit.adult_max_mg_dose and per_dose > limit.adult_max_mg_dose:
        codes.append("max_dose")
        refusals.append(f"{shown}: {per_dose:g} mg a dose is above the maximum single dose of "
                        f"{limit.adult_max_mg_dose:g} mg ({limit.source}).")
    if per_day is not None and limit.adult_max_mg_day and per_day > limit.adult_max_mg_day + 1e-9:
        codes.append("max_daily_dose")
        refusals.append(f"{shown}: {per_day:g} mg a day ({per_dose:g} mg × {per_day_count:g}) is above the maximum "
                        f"of {limit.adult_max_mg_day:g} mg a day ({limit.source}).")
    elif per_day is not None and limit.adult_warn_mg_day and per_day > limit.adult_warn_mg_day + 1e-9:
        warnings.append(f"{shown}: {per_day:g} mg a day is above the usual maximum of {limit.adult_warn_mg_day:g} mg "
                        f"({limit.source}).")
    return codes, refusals, warnings


def line_findings(rx: Prescription, formulary: Formulary) -> list[Finding]:
    """Every refusal and unacknowledged warning about the medicine lines (controlled substances are
    refused by rules.check_medicine, which names them; such lines are skipped here)."""
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    seen_ingredients: list[tuple[int, str, frozenset[str]]] = []
    limits = default_dose_limits()
    for n, m in enumerate(rx.medicines, start=1):
        name = m.generic_name.strip()
        if not name or controlled_match(m, formulary) is not None:
            continue
        field = f"medicine:{name}"
        drug, key = _identity(m, formulary)
        shown = drug.generic_name if drug else name
        refusals: list[tuple[str, str]] = []
        warnings: list[str] = []
        for match in default_controlled().find(name, formulary.safe_words):
            if match.entry.action is Action.WARN:
                warnings.append(f"{shown} ({match.entry.substance}): {match.entry.law} — {match.entry.advice}.")
        cls = form_class(m.form)
        if not route_allowed(m.form, m.route):
            refusals.append(("route_form", f"{shown}: a {m.form} cannot be given by the {m.route} route; "
                                           f"choose {' or '.join(sorted(CLASS_ROUTES[cls]))}."))
        if drug is not None and drug.forms and cls is not None and cls not in drug.forms:
            refusals.append(("form_mismatch", f"{drug.generic_name} comes as {' or '.join(sorted(drug.forms))}, but "
                                              f"this line's form is {m.form!r}: correct the form, or pick the entry "
                                              "for the form you mean."))
        if "methotrexate" in tokens(name) and m.frequency != "WEEKLY":
            refusals.append(("methotrexate_weekly", f"{shown} is taken once a week (WEEKLY), never {m.frequency}: "
                                                    "daily methotrexate by mistake is a known fatal error."))
        limit = limits.get(drug.generic_name.lower()) if drug else None
        if limit is not None:
            codes, texts, dose_warnings = _dose_findings(m, shown, limit, rx.patient)
            refusals.extend(zip(codes, texts))
            warnings.extend(dose_warnings)
        if key in seen:
            refusals.append(("duplicate", f"{shown} is written twice (lines {seen[key]} and {n}): keep one line."))
        else:
            seen[key] = n
            mine = _ingredients(key)
            for other_n, other, theirs in seen_ingredients:
                shared = mine & theirs
                if shared:
                    warnings.append(f"{shown} and {other} (line {other_n}) both contain {', '.join(sorted(shared))}: "
                                    "check the total dose.")
            seen_ingredients.append((n, shown, mine))
        findings.extend(Finding(code, field, text) for code, text in refusals)
        if warnings and not m.warning_acknowledged:
            findings.extend(Finding("warning", field, f"Warning — {text} To sign, acknowledge the warning on this "
                                    "line (“I have read the warning”).") for text in warnings)
    return findings
