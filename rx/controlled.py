"""Controlled substances by any spelling: NDPS / Schedule X refused, Schedule H1 and MTP drugs warned about.

Independent of the formulary's spelling: a curated list (`rx/data/controlled.csv`: substance names,
synonyms and brands, each with its act or schedule and a source note) matched against whatever was
typed on a medicine line, surviving case, punctuation, glued strengths and units, dosage-form words,
combinations written with `+`, and one-character typos of names of six letters or more.
"""

from __future__ import annotations

import csv
import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Shortest name (letters) that may match with one typo or glued to other letters: shorter names
#: ("Trika", "opium") collide with ordinary words, so they match only as whole words.
FUZZY_MIN = 6


class Action(enum.StrEnum):
    REFUSE = "refuse"  # NDPS Act / Schedule X: never by telemedicine (TPG 2020, Prohibited List)
    WARN = "warn"  # misused Schedule H1 drugs, drugs restricted by other acts: the doctor acknowledges


@dataclass(frozen=True)
class Entry:
    """One name a doctor could write (INN, synonym or brand), with the substance it stands for."""

    name: str
    kind: str  # inn | synonym | brand | unrelated (a name that only looks like a controlled one)
    substance: str
    action: Action
    law: str
    advice: str
    source: str


@dataclass(frozen=True)
class Match:
    entry: Entry
    how: str  # "word", "glued" (inside a longer token) or "typo" (one edit away)


def tokens(text: str) -> list[str]:
    """The words of a medicine line: lower-case ASCII letters, split at punctuation and at every change
    between letters and digits, numbers dropped ("Tab.ALPRAX0.25mg" → tab, alprax, mg)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z]+", plain)


def within_one_edit(a: str, b: str) -> bool:
    """True when b is a, or a with one letter inserted, deleted, replaced, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


class ControlledList:
    def __init__(self, entries: Iterable[Entry]) -> None:
        listed = tuple(entries)
        self.entries = tuple(e for e in listed if e.kind != "unrelated")
        self._words = [(tuple(tokens(e.name)), e) for e in self.entries]
        #: Words never read as a glued or misspelt controlled name ("apomorphine" is not morphine).
        self.unrelated = frozenset(w for e in listed if e.kind == "unrelated" for w in tokens(e.name))

    def find(self, text: str, safe_words: frozenset[str] = frozenset()) -> list[Match]:
        """Every listed name this text names, refusals first. `safe_words` (the allowed formulary's
        words) are never taken for a typo or a glued form of a controlled name."""
        words = tokens(text)
        found: dict[str, Match] = {}
        for name, entry in self._words:
            joined = "".join(name)
            how = None
            if any(tuple(words[i:i + len(name)]) == name for i in range(len(words))):
                how = "word"
            elif len(joined) >= FUZZY_MIN:
                for w in words:
                    if w in safe_words or w in self.unrelated:
                        continue
                    if joined in w:
                        how = "glued"
                        break
                    if len(w) >= FUZZY_MIN - 1 and within_one_edit(joined, w):
                        how = "typo"
                        break
            if how and (entry.substance not in found or how == "word"):
                found[entry.substance] = Match(entry, how)
        return sorted(found.values(), key=lambda m: (m.entry.action is not Action.REFUSE, m.how != "word"))


def load_controlled(path: str | None = None) -> ControlledList:
    """Read the list; a synonym or brand takes its action, law and advice from its substance's INN row."""
    if path is None:
        text = resources.files("rx.data").joinpath("controlled.csv").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    rows = list(csv.DictReader(text.splitlines()))
    heads = {r["substance"]: r for r in rows if r["kind"] == "inn"}
    entries = []
    for n, row in enumerate(rows, start=2):
        head = heads.get(row["substance"])
        if head is None or not row["source"].strip() or row["kind"] not in ("inn", "synonym", "brand", "unrelated"):
            raise ValueError(f"controlled list line {n}: needs a kind, a listed substance and a source note")
        try:
            action = Action(head["action"])
        except ValueError:
            raise ValueError(f"controlled list line {n}: unknown action {head['action']!r}") from None
        entries.append(Entry(row["name"].strip(), row["kind"], row["substance"], action, head["law"].strip(),
                             head["advice"].strip(), row["source"].strip()))
    return ControlledList(entries)


@lru_cache(maxsize=1)
def default_controlled() -> ControlledList:
    return load_controlled()
