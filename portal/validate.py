"""Typed validation at the edge: ids, enums, free text and names, redirect targets.

Every value a visitor sends (route parameter, query, form field, JSON member) passes one of these before a
service sees it, so a malformed one is a 400 or 404 with the documented error shape and never reaches
SQLite or a header as something it cannot hold. Pure: no aiohttp.
"""

from __future__ import annotations

import json
import re
import unicodedata
from enum import Enum
from typing import Any, TypeVar

from .errors import Invalid, NotFoundError
from .i18n import N_

#: SQLite's INTEGER is 64-bit signed: a larger id cannot name any row (and would not bind).
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_PATIENT_ID = re.compile(r"VP-[0-9A-Z]{4}-[0-9A-Z]{4}")
#: Bidirectional embeddings, overrides and isolates: they reorder what a doctor reads (U+202A–202E,
#: U+2066–2069), so a name could display as another.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
#: Zero-width non-joiner and joiner: Indic scripts need them inside names (half forms, chillu letters).
JOINERS = frozenset({"\u200c", "\u200d"})
#: Local redirect targets: an absolute path under the portal or Rx, made of URL characters only.
_LOCAL_PATH = re.compile(r"/(portal|rx)/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")

E = TypeVar("E", bound=Enum)


def parse_id(raw: object) -> int | None:
    """A row id written in ASCII decimal, 1..MAX_ID; None for anything else (text, 0, too large, '²')."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_ID else None
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def route_id(raw: object) -> int:
    """An id from the URL: a bad one names no page, so 404 (never 500)."""
    value = parse_id(raw)
    if value is None:
        raise NotFoundError("not_found", N_("This page does not exist."))
    return value


def field_id(raw: object, field: str, message: str = N_("This is not a number.")) -> int:
    """An id from a form field or JSON member: a bad one is `invalid` naming the field (400)."""
    value = parse_id(raw)
    if value is None:
        raise Invalid({field: message})
    return value


def parse_patient_id(raw: object) -> str | None:
    """A Patient ID as the portal writes it (VP-XXXX-XXXX), else None."""
    return raw if isinstance(raw, str) and _PATIENT_ID.fullmatch(raw) else None


def patient_id(raw: object) -> str:
    """A Patient ID from the URL; anything else names no page (404)."""
    value = parse_patient_id(raw)
    if value is None:
        raise NotFoundError("no_patient", N_("This page does not exist."))
    return value


def enum_value(kind: type[E], raw: object, field: str, message: str) -> E:
    """A member of the enum by value, else `invalid` naming the field."""
    try:
        return kind(raw)
    except (ValueError, TypeError):
        raise Invalid({field: message}) from None


def text_problem(text: str) -> str | None:
    """Why free text typed by a person cannot be stored as given (an untranslated message), or None.
    Refused: control characters, unpaired surrogates, bidi overrides and isolates."""
    for c in text:
        category = unicodedata.category(c)
        if category == "Cc" or category == "Cs" or c in BIDI_CONTROLS:
            return N_("This contains characters that cannot be shown.")
    return None


def name_problem(name: str) -> str | None:
    """Why this is not acceptable as a person's name (an untranslated message), or None.
    On top of `text_problem`: no invisible format characters but the joiners Indic scripts need, no
    unassigned or private-use code points, and at least one letter (no name made of zero-width spaces)."""
    problem = text_problem(name)
    if problem:
        return problem
    letters = 0
    for c in name:
        category = unicodedata.category(c)
        if category in ("Cf", "Cn", "Co") and c not in JOINERS:
            return N_("This contains characters that cannot be shown.")
        letters += category.startswith("L")
    if not letters:
        return N_("A name needs at least one letter.")
    return None


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object (UTF-8): anything else, however deeply nested or badly
    encoded, is `invalid` naming the body."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Invalid({"body": N_("This is not valid JSON.")}) from None
    if not isinstance(value, dict):
        raise Invalid({"body": N_("This is not valid JSON.")})
    return value


def local_redirect(target: object, default: str) -> str:
    """`target` if it is a path under /portal/ or /rx/ made of URL characters only (no scheme, host, '//',
    backslash, CR/LF or other control), else `default`: a redirect parameter cannot leave the site nor
    break the Location header."""
    if isinstance(target, str) and _LOCAL_PATH.fullmatch(target) and "//" not in target:
        return target
    return default
