"""The formulary shipped with the code: each drug's TPG list (Annexure 1) and the basis for that tag."""

from __future__ import annotations

import csv
import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .controlled import tokens
from .forms import CLASS_ROUTES, form_class
from .presentation import Presentation, parse_presentation


class TpgList(enum.StrEnum):
    """TPG Annexure 1 lists, from least to most restrictive."""

    O = "O"  # noqa: E741 - the guideline's own name
    A = "A"
    B = "B"
    PROHIBITED = "prohibited"


@dataclass(frozen=True)
class Drug:
    generic_name: str
    aliases: tuple[str, ...]
    category: str
    tpg_list: TpgList
    basis: str
    #: Form classes (rx.forms) this entry is, where the form is part of the identity (salbutamol tablets
    #: are not the salbutamol inhaler); empty for any form.
    forms: frozenset[str] = frozenset()
    #: Common Indian presentations (NLEM 2022, else commonly marketed), offered as the doctor types; the
    #: prescription's strength and form stay free text.
    presentations: tuple[Presentation, ...] = ()


def _key(text: str) -> str:
    """Compare names the way a doctor types them: case, spacing and punctuation ignored."""
    return " ".join(re.sub(r"[^0-9a-z+]+", " ", text.lower()).split())


class Formulary:
    def __init__(self, drugs: list[Drug]) -> None:
        self.drugs = tuple(drugs)
        self._by_key: dict[str, list[Drug]] = {}
        for drug in drugs:
            for name in (drug.generic_name, *drug.aliases):
                same = self._by_key.setdefault(_key(name), [])
                if drug in same:
                    continue
                if any(not other.forms or not drug.forms or other.forms & drug.forms for other in same):
                    raise ValueError(f"formulary name {name!r} is listed twice")
                same.append(drug)
        # Longest names first, so "amoxicillin + clavulanic acid" wins over "amoxicillin".
        self._names = sorted(self._by_key, key=len, reverse=True)
        #: Words of every drug that may be prescribed: never mistaken for a typo of a controlled substance.
        self.safe_words = frozenset(w for d in drugs if d.tpg_list is not TpgList.PROHIBITED
                                    for n in (d.generic_name, *d.aliases) for w in tokens(n))

    def __len__(self) -> int:
        return len(self.drugs)

    @staticmethod
    def _pick(candidates: list[Drug], form: str) -> Drug:
        """The entry for the line's form; when the form does not decide, the most restrictive list."""
        cls = form_class(form)
        fitting = [d for d in candidates if cls in d.forms] if cls else []
        pool = fitting or candidates
        order = list(TpgList)
        return max(pool, key=lambda d: order.index(d.tpg_list))

    def lookup(self, name: str, form: str = "") -> Drug | None:
        """The drug named exactly (by generic name or alias) in this form, or None."""
        candidates = self._by_key.get(_key(name))
        return self._pick(candidates, form) if candidates else None

    def mentioned_in(self, text: str, form: str = "") -> Drug | None:
        """The formulary drug a free-text entry names, if any (so free text cannot dodge a list).

        An exact name wins; otherwise the longest formulary name found as whole words, with a prohibited
        drug taking precedence over any other match.
        """
        exact = self.lookup(text, form)
        if exact is not None:
            return exact
        padded = f" {_key(text)} "
        found = [self._pick(self._by_key[n], form) for n in self._names if f" {n} " in padded]
        for drug in found:
            if drug.tpg_list is TpgList.PROHIBITED:
                return drug
        return found[0] if found else None


@dataclass(frozen=True)
class Match:
    """A formulary drug found by what the doctor typed, and the name that matched (a brand, say)."""

    drug: Drug
    matched: str


def _search_rank(key: str, name_key: str) -> int | None:
    """0: the whole name; 1: the name starts with it; 2: a later word starts with it; None: no match."""
    if name_key == key:
        return 0
    if name_key.startswith(key):
        return 1
    if f" {key}" in f" {name_key}":
        return 2
    return None


def search(formulary: Formulary, typed: str, limit: int = 8) -> list[Match]:
    """Formulary drugs for what a doctor has typed so far (generic names, brands, abbreviations), best
    first: a whole name, then names that start with it, then names with a word that does."""
    key = _key(typed)
    if not key:
        return []
    best: dict[int, tuple[int, int, Match]] = {}
    for order, drug in enumerate(formulary.drugs):
        for name in (drug.generic_name, *drug.aliases):
            rank = _search_rank(key, _key(name))
            if rank is None:
                continue
            # the generic name beats a brand at the same rank, so "Dolo" shows Paracetamol as matched by Dolo
            found = (rank, order, Match(drug, name))
            if id(drug) not in best or found[:2] < best[id(drug)][:2]:
                best[id(drug)] = found
    return [m for _, _, m in sorted(best.values(), key=lambda f: f[:2])][:limit]


def _presentations(cell: str, tag: TpgList, forms: frozenset[str]) -> tuple[Presentation, ...]:
    """A row's presentations ("500 mg tablet|120 mg/5 mL suspension"), each in one of the row's forms."""
    found = tuple(parse_presentation(p) for p in cell.split("|") if p.strip())
    if found and tag is TpgList.PROHIBITED:
        raise ValueError("a prohibited drug has no presentations to offer")
    for p in found:
        if forms and form_class(p.form) not in forms:
            raise ValueError(f"presentation {str(p)!r} is not one of this entry's forms ({', '.join(sorted(forms))})")
    return found


def load_formulary(path: str | None = None) -> Formulary:
    """Read a formulary CSV (generic_name, aliases, category, tpg_list, basis, optional forms as classes
    joined by "|", optional presentations as "strength form" joined by "|"); bad rows are an error."""
    if path is None:
        text = resources.files("rx.data").joinpath("formulary.csv").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    drugs = []
    for n, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            tag = TpgList(row["tpg_list"].strip())
        except ValueError:
            raise ValueError(f"formulary line {n}: unknown TPG list {row['tpg_list']!r}") from None
        if not row["generic_name"].strip() or not row["basis"].strip():
            raise ValueError(f"formulary line {n}: generic_name and basis are required")
        aliases = tuple(a.strip() for a in (row["aliases"] or "").split(";") if a.strip())
        forms = frozenset(f.strip() for f in (row.get("forms") or "").split("|") if f.strip())
        if not forms <= CLASS_ROUTES.keys():
            raise ValueError(f"formulary line {n}: unknown form class in {row['forms']!r}")
        try:
            presentations = _presentations(row.get("presentations") or "", tag, forms)
        except ValueError as e:
            raise ValueError(f"formulary line {n}: {e}") from None
        drugs.append(Drug(row["generic_name"].strip(), aliases, row["category"].strip(), tag, row["basis"].strip(),
                          forms, presentations))
    return Formulary(drugs)


@lru_cache(maxsize=1)
def default_formulary() -> Formulary:
    return load_formulary()
