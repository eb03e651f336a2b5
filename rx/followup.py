"""Follow-up from the record (TPG 2020), as pure checks the rules run at signing.

TPG 2020, section 3 ("Types of consultation: first consult and follow-up"): a consultation is a follow-up
when the patient consults the same RMP within 6 months of the previous consultation, for continuation of
care of the same health condition; otherwise (more than 6 months, or a different condition) it is a first
consult. Annexure 1, List B: medicines the RMP may prescribe at a follow-up *in addition to* those
prescribed at an in-person consultation for the same condition (an add-on, e.g. a thiazide to atenolol).

How we decide it, without trusting what the patient ticked when booking:
- the doctor links this consultation to an earlier one of theirs with this patient (`EarlierConsult`,
  checked against the portal's record by `rx.portal_link.earlier_consultation`: same patient, same doctor,
  held, not this one) — linking is how the doctor says "same condition";
- and/or declares an earlier in-person consultation they held (`InPersonVisit`: date, place, the treatment
  started there), which is signed with the prescription;
- either must lie within `FOLLOW_UP_WINDOW_MONTHS` before the day of the prescription.
A List B line names the drug it is added to (`Medicine.add_on_to`), which must be part of the declared
in-person treatment. Functions return (code, field, message) triples that `rx.rules` turns into problems.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .formulary import TpgList
from .localtime import date_text
from .model import Consultation, InPersonVisit, Medicine, Mode, Visit

#: TPG 2020, section 3 (types of consultation): a follow-up is within 6 months of the earlier consultation.
FOLLOW_UP_WINDOW_MONTHS = 6

Finding = tuple[str, str, str]  # (code, field, message), made into rx.rules.Problem


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (the last day of that month when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def window_start(today: date) -> date:
    """The earliest day an earlier consultation may have taken place for today's to be a follow-up."""
    return months_before(today, FOLLOW_UP_WINDOW_MONTHS)


def describe_in_person(visit: InPersonVisit) -> str:
    """e.g. "the in-person consultation of 12-09-2026 at District Hospital, Tumakuru (Atenolol 50 mg OD)"."""
    treatment = f" ({', '.join(visit.treatment)})" if visit.treatment else ""
    return f"the in-person consultation of {date_text(visit.on)} at {visit.place.strip()}{treatment}"


def basis_findings(c: Consultation, today: date) -> list[Finding]:
    """Is this consultation a follow-up on the record? Problems with the link and the declaration."""
    found: list[Finding] = []
    start = window_start(today)
    months = FOLLOW_UP_WINDOW_MONTHS
    if c.visit is Visit.FOLLOW_UP and c.follows is None and c.in_person is None:
        found.append(("follow_up_unproven", "follows_consultation",
                      "A follow-up must name the earlier consultation for this condition: link one of your earlier "
                      "consultations with this patient, or declare the in-person consultation (date, place, "
                      "treatment)."))
    if c.follows is not None:
        if c.follows.on > today:
            found.append(("follows_date", "follows_consultation",
                          f"Consultation {c.follows.id} is dated after this prescription."))
        elif c.follows.on < start:
            found.append(("follow_up_window", "follows_consultation",
                          f"Consultation {c.follows.id} of {date_text(c.follows.on)} is more than {months} months "
                          f"ago (before {date_text(start)}): under TPG 2020 this is a first consultation."))
    v = c.in_person
    if v is not None:
        if v.on > today:
            found.append(("in_person_date", "in_person", "The in-person consultation cannot be in the future."))
        elif v.on < start:
            found.append(("follow_up_window", "in_person",
                          f"The in-person consultation of {date_text(v.on)} is more than {months} months ago "
                          f"(before {date_text(start)}): under TPG 2020 this is a first consultation."))
        if not v.place.strip():
            found.append(("in_person_place", "in_person", "Say where the in-person consultation took place."))
        if not any(t.strip() for t in v.treatment):
            found.append(("in_person_treatment", "in_person",
                          "Name the treatment started at the in-person consultation (List B only adds to it)."))
    return found


def list_b_finding(medicine: Medicine, shown: str, field: str, c: Consultation,
                   same_drug: Callable[[str, str], bool]) -> Finding | None:
    """A List B line allowed by the matrix still needs the drug it is added to, from the in-person treatment."""
    visit = c.in_person
    if visit is None:
        return None  # the matrix refuses it already, naming the missing in-person consultation
    base = medicine.add_on_to.strip()
    treatment = ", ".join(visit.treatment)
    if not base:
        return ("list_b_add_on", field,
                f"{shown} is on List B: it can only be added to treatment started at {describe_in_person(visit)}: "
                f"name the drug it is added to (one of: {treatment}).")
    if not any(same_drug(base, started) for started in visit.treatment):
        return ("list_b_add_on", field,
                f"{shown} is on List B, but {base} was not part of the treatment started at "
                f"{describe_in_person(visit)}: add it only to a drug started there ({treatment}).")
    return None


def describe_basis(c: Consultation) -> str:
    """The follow-up basis in words for the doctor's form, e.g. "follow-up of consultation 41 (24-10-2026)"."""
    parts = []
    if c.follows is not None:
        parts.append(f"follow-up of consultation {c.follows.id} ({c.follows.mode.value}, {date_text(c.follows.on)})")
    if c.in_person is not None:
        parts.append(f"add-ons to {describe_in_person(c.in_person)}")
    return "; ".join(parts)


def why_allowed(tag: TpgList, medicine: Medicine, c: Consultation) -> str:
    """Why a line that passed the rules is allowed, naming the consultation it rests on (for the doctor)."""
    visit = (f"a follow-up of {describe_basis(c)}" if c.visit is Visit.FOLLOW_UP
             else f"a first consultation by {c.mode.value}")
    if tag is TpgList.O:
        return f"List O: allowed at any consultation (this is {visit})."
    if tag is TpgList.A and c.visit is Visit.FOLLOW_UP and c.mode is not Mode.VIDEO:
        return f"List A refill of a medicine the patient already takes, at {visit}."
    if tag is TpgList.A:
        return f"List A: allowed when seen on video (this is {visit})."
    if c.in_person is None:  # not reached for a line the rules passed
        return "List B: needs a declared in-person consultation."
    return f"List B: an add-on to {medicine.add_on_to}, started at {describe_in_person(c.in_person)}."
