"""Languages: the gettext catalogs (compiled from the committed .po files at start-up), negotiation from the
picker cookie or Accept-Language, text direction, and localized dates and numbers.

Strings in Python code are marked with `N_()` (kept untranslated until shown); templates call `_()`.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from signaling.config import Config

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
#: The eleven languages, in the order the picker shows them.
LANGUAGES = ("en", "hi", "bn", "mr", "te", "ta", "gu", "ur", "kn", "or", "ml")
#: Each language's name in itself, for the picker.
NATIVE_NAMES = {code: Locale.parse(code).get_display_name(code) for code in LANGUAGES}


def N_(message: str) -> str:
    """Mark a string for translation without translating it here."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    translations: gettext.NullTranslations
    locale: Locale
    #: The clinic's time zone: stored instants (UNIX times, aware datetimes) are shown in it.
    zone: dt.tzinfo = ZoneInfo(Config.timezone)

    @property
    def dir(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def date(self, value: dt.date | float) -> str:
        if isinstance(value, (int, float)):
            value = dt.datetime.fromtimestamp(value, self.zone).date()
        elif isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(self.zone).date()
        return format_date(value, format="medium", locale=self.locale)

    def time(self, value: dt.datetime | dt.time | float) -> str:
        if isinstance(value, (int, float)):
            value = dt.datetime.fromtimestamp(value, self.zone)
        elif isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(self.zone)
        if isinstance(value, dt.datetime):
            value = value.replace(tzinfo=None)  # already local: Babel would otherwise convert it again
        return format_time(value, format="short", locale=self.locale)

    def clock(self, hhmm: str) -> str:
        """An OPD hour stored as "HH:MM", the way this language writes times ("9:00 am")."""
        return self.time(dt.time.fromisoformat(hhmm))

    def minutes(self, seconds: float) -> str:
        """A wait or duration in whole minutes, localized ("about 12 minutes")."""
        n = max(1, round(seconds / 60))
        return self.ngettext("about %(n)s minute", "about %(n)s minutes", n) % {"n": self.number(n)}


def _load(code: str) -> gettext.NullTranslations:
    po_path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=code)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Catalogs:
    """Every language's compiled catalog, loaded once."""

    def __init__(self, zone: dt.tzinfo = ZoneInfo(Config.timezone)) -> None:
        self.languages = {code: Language(code, _load(code), Locale.parse(code), zone) for code in LANGUAGES}

    def get(self, code: str | None) -> Language:
        return self.languages.get(code or "", self.languages[DEFAULT])

    def negotiate(self, chosen: str | None, accept_language: str | None) -> Language:
        """The picker's choice if valid, else the best Accept-Language match, else English."""
        if chosen in self.languages:
            return self.languages[chosen]
        for tag in _parse_accept_language(accept_language or ""):
            base = tag.split("-")[0].lower()
            if base in self.languages:
                return self.languages[base]
        return self.languages[DEFAULT]


def _parse_accept_language(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        fields = part.strip().split(";")
        tag = fields[0].strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]
