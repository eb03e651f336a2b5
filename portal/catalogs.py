"""The translatable strings of the portal, read from its source (Python `N_`/`_`/`gettext` calls and
templates' `_()` calls), and the tools that keep the committed catalogs in step with them.

`python -m portal.catalogs` prints what each language still lacks (exit status 1 if anything).
`python -m portal.catalogs --update` rewrites `locale/messages.pot` from the source and merges it into
every language's `.po` file (new strings arrive untranslated, removed ones are dropped), so a translator
only ever edits `.po` files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_DIR = Path(__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
Message = str | tuple[str, str]


def template() -> Catalog:
    """A fresh catalog of every UI string, with where each one is used."""
    catalog = Catalog(project="Vaidya", version="0.1", domain=DOMAIN, charset="utf-8",
                      msgid_bugs_address="the Vaidya issue tracker", copyright_holder="the Vaidya contributors")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_DIR, METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m)
            message = message[0] if len(message) == 1 else message
        if message:
            catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def ui_strings() -> set[Message]:
    """Every message id the UI can show: a string, or (singular, plural)."""
    return {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]) for m in template() if m.id}


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(code: str) -> Catalog | None:
    path = po_path(code)
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=code)


def missing(code: str) -> list[str]:
    """UI strings the language's catalog leaves untranslated (or marks fuzzy)."""
    catalog = read_catalog(code)
    gaps = []
    for msg in ui_strings():
        key = msg if isinstance(msg, str) else msg[0]
        entry = catalog.get(key) if catalog is not None else None
        strings = entry.string if entry is not None else None
        values = list(strings) if isinstance(strings, (list, tuple)) else [strings]
        if entry is None or entry.fuzzy or not all(values):
            gaps.append(key)
    return sorted(gaps)


def update() -> None:
    """Write messages.pot from the source and merge it into every existing .po file."""
    pot = template()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as f:
        write_po(f, pot, width=100, sort_output=True)
    for code in LANGUAGES:
        catalog = read_catalog(code)
        if catalog is None:
            continue
        catalog.update(pot, no_fuzzy_matching=True)
        with po_path(code).open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, ignore_obsolete=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.catalogs")
    parser.add_argument("--update", action="store_true", help="regenerate messages.pot and merge into .po files")
    args = parser.parse_args(argv)
    if args.update:
        update()
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
