"""Rx reaches the portal's web layer through one module, portal.frame: its pages cannot be made without
the frame (sessions, CSRF, headers, errors, language), and nothing in the portal imports rx."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
#: The portal's data and rule modules Rx may read directly (records, not pages).
DATA = {"portal.storage", "portal.models", "portal.pharmacists", "portal.councils", "portal.uploads",
        "portal.datafiles"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module == "portal")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_rx_uses_the_portals_web_layer_only_through_the_frame():
    outside = {}
    for path in sorted((ROOT / "rx").glob("*.py")):
        portal = {m for m in _imports(path) if m.startswith("portal") and m != "portal"}
        stray = portal - DATA - {"portal.frame"}
        if stray:
            outside[path.name] = sorted(stray)
    assert outside == {}


def test_the_portal_never_imports_rx_and_both_mount_their_pages_in_the_frame():
    for path in sorted((ROOT / "portal").rglob("*.py")):
        assert not any(m == "rx" or m.startswith("rx.") for m in _imports(path)), path
    for web in ("portal/web.py", "rx/web.py"):
        text = (ROOT / web).read_text(encoding="utf-8")
        assert "frame_app(" in text and "web.Application(" not in text, web
