"""Medical councils of India and the shape of the registration numbers they issue.

TPG 2020 (section 3.2, identification of the RMP) asks that the registration number be shown on every
prescription; a number is only worth printing if it can be looked up. No council publishes a format
specification, so the check is about shape, from numbers as the registers print them: digits (Karnataka
48213), sometimes after the council's abbreviation (KMC-48213, TCMC-5521, WBMC 64210), a letter series
(Delhi DMC/R/12457) or year/month/serial (Maharashtra 2005/02/0745). What it refuses for sure: placeholders
("0000", "XXXX", "NA", "12345", "TEST"), characters no register uses, a prefix belonging to another council,
and a council that is not NMC or a State Medical Council. Pure functions; no I/O.
"""

from __future__ import annotations

import re

#: Council name → abbreviations a registration number may start with (the first is the usual one).
COUNCILS: dict[str, tuple[str, ...]] = {
    "National Medical Commission": ("NMC", "IMR"),
    "Medical Council of India": ("MCI", "IMR"),
    "Andhra Pradesh Medical Council": ("APMC",),
    "Arunachal Pradesh Medical Council": ("APMC", "ARPMC"),
    "Assam Medical Council": ("AMC",),
    "Bihar Council of Medical Registration": ("BCMR",),
    "Chhattisgarh Medical Council": ("CGMC",),
    "Delhi Medical Council": ("DMC",),
    "Goa Medical Council": ("GMC",),
    "Gujarat Medical Council": ("GMC", "GUJMC"),
    "Haryana Medical Council": ("HMC", "HRMC"),
    "Himachal Pradesh Medical Council": ("HPMC",),
    "Jammu & Kashmir Medical Council": ("JKMC",),
    "Jharkhand Medical Council": ("JMC", "JHMC"),
    "Karnataka Medical Council": ("KMC",),
    "Travancore-Cochin Medical Council": ("TCMC", "TCCMM", "KSMC"),
    "Travancore-Cochin Council of Modern Medicine": ("TCMC", "TCCMM", "KSMC"),
    "Madhya Pradesh Medical Council": ("MPMC",),
    "Maharashtra Medical Council": ("MMC",),
    "Manipur Medical Council": ("MNMC",),
    "Meghalaya Medical Council": ("MGMC",),
    "Mizoram Medical Council": ("MZMC",),
    "Nagaland Medical Council": ("NGMC",),
    "Odisha Council of Medical Registration": ("OCMR",),
    "Punjab Medical Council": ("PMC",),
    "Rajasthan Medical Council": ("RMC",),
    "Sikkim Medical Council": ("SMC",),
    "Tamil Nadu Medical Council": ("TNMC",),
    "Telangana State Medical Council": ("TSMC", "TGMC"),
    "Tripura Medical Council": ("TMC",),
    "Uttar Pradesh Medical Council": ("UPMC",),
    "Uttarakhand Medical Council": ("UKMC",),
    "West Bengal Medical Council": ("WBMC",),
}

#: Words people type when they do not have the number at hand.
PLACEHOLDER_WORDS = frozenset({"NA", "N/A", "NIL", "NONE", "NULL", "TEST", "TESTING", "DUMMY", "TBD", "TBA",
                               "PENDING", "UNKNOWN", "XXX", "ABC", "SAMPLE", "DEMO", "REG", "NO"})

#: [council prefix] [one letter series, e.g. R/] digits [/digits [/digits]] — the shapes registers print.
_SHAPE = re.compile(r"^(?:(?P<prefix>[A-Z]{2,6})[ ./-]{0,2})?(?:(?P<series>[A-Z]{1,2})[/-])?"
                    r"(?P<number>\d{1,7}(?:[/-]\d{1,7}){0,2})$")
MIN_DIGITS, MAX_DIGITS = 3, 12


def council_named(council: str) -> str | None:
    """The council's full name from its name or abbreviation (case and spacing ignored); None if unknown."""
    wanted = " ".join(council.replace("–", "-").split()).casefold()
    for name, abbreviations in COUNCILS.items():
        if wanted == name.casefold() or wanted in (a.casefold() for a in abbreviations):
            return name
    return None


def placeholder(text: str, digits: str) -> bool:
    """True for what people type when they lack the number (upper-cased `text`, its `digits`)."""
    bare = re.sub(r"[^A-Z0-9]", "", text)
    if text in PLACEHOLDER_WORDS or bare in PLACEHOLDER_WORDS or any(w in text for w in ("TEST", "DUMMY", "XXX")):
        return True
    if len(digits) >= 3 and len(set(digits)) == 1:
        return True  # 000, 99999
    if len(digits) >= 4 and (("01234567890".find(digits) in (0, 1)) or "9876543210".endswith(digits)
                             or "98765432109".startswith(digits)):
        return True  # 1234, 12345, 0123, 54321, 43210, 98765 (a run like 76543 can be a real number)
    return len(set(bare)) == 1


def registration_problem(number: str, council: str) -> str | None:
    """Why this registration number cannot be printed for this council, or None when it looks right."""
    text = " ".join(number.upper().split())
    if not text:
        return "The registration number is missing."
    digits = "".join(c for c in text if c.isdigit())
    if placeholder(text, digits):
        return (f"“{number.strip()}” is a placeholder, not a registration number: give the number your medical "
                "council issued (as printed on your registration certificate).")
    name = council_named(council)
    if name is None:
        return (f"“{council.strip()}” is not a medical council we know: give the National Medical Commission or "
                "your State Medical Council by its full name (e.g. Karnataka Medical Council).")
    shape = _SHAPE.match(text)
    if shape is None or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return (f"“{number.strip()}” is not a registration number: registers print digits, optionally after the "
                f"council's abbreviation or as year/month/serial (e.g. {COUNCILS[name][0]}-48213).")
    prefix = shape.group("prefix")
    if prefix and prefix not in COUNCILS[name]:
        return (f"{prefix} is not an abbreviation of {name} ({', '.join(COUNCILS[name])}): check the council or "
                "the number.")
    return None
