"""The translatable strings of the portal, read from its source (Python `N_`/`_`/`gettext` calls and
templates' `_()` calls), and the check that every catalog translates each of them.

`python -m portal.catalogs` prints what each language still lacks (exit status 1 if anything).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from .i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_DIR = Path(__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def ui_strings() -> set[str | tuple[str, str]]:
    """Every message id the UI can show: a string, or (singular, plural)."""
    found: set[str | tuple[str, str]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        PACKAGE_DIR, METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {"trim_blocks": "true"}}
    ):
        if isinstance(message, tuple):
            found.add((message[0], message[1]) if len(message) > 1 and message[1] else message[0])
        elif message:
            found.add(message)
    return found


def missing(code: str) -> list[str]:
    """UI strings the language's catalog leaves untranslated (or marks fuzzy)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return sorted(m if isinstance(m, str) else m[0] for m in ui_strings())
    with path.open("rb") as f:
        catalog = read_po(f, locale=code)
    gaps = []
    for msg in ui_strings():
        key = msg if isinstance(msg, str) else msg[0]
        entry = catalog.get(key)
        strings = entry.string if entry is not None else None
        values = list(strings) if isinstance(strings, (list, tuple)) else [strings]
        if entry is None or entry.fuzzy or not all(values):
            gaps.append(key)
    return sorted(gaps)


def main() -> int:
    bad = 0
    for code in LANGUAGES:
        if code == "en":
            continue
        gaps = missing(code)
        bad += len(gaps)
        for key in gaps:
            print(f"{code}: {key}")
    print(f"{len(ui_strings())} UI strings; {bad} untranslated")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
