"""The kept corpus: every input that ever made a property fail, replayed on every `make test`.

`corpus/<property>.jsonl` holds one JSON value a line (the input as the property takes it). When `make fuzz`
finds a failure, the fix lands with the shrunk input appended there (`keep`), so it can never come back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CORPUS_DIR = Path(__file__).parent / "corpus"


def entries(name: str) -> list[Any]:
    """The kept inputs of one property, as pytest params named by their line number."""
    path = CORPUS_DIR / f"{name}.jsonl"
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [pytest.param(json.loads(line), id=f"{name}:{n}") for n, line in enumerate(lines, 1)]


def keep(name: str, value: Any) -> None:
    """Append one failing input to the property's corpus file (used when a fuzz run finds one)."""
    CORPUS_DIR.mkdir(exist_ok=True)
    with (CORPUS_DIR / f"{name}.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(value, ensure_ascii=True) + "\n")
