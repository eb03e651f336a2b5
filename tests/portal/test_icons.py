"""Icons that render without an emoji font: no page template draws one with a symbol glyph, and every
icon is an inline SVG hidden from screen readers beside its words."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from portal.icons import SHAPES, icon

ROOT = Path(__file__).parents[2]
TEMPLATES = [*ROOT.glob("portal/templates/*.html"), *ROOT.glob("rx/templates/*.html"), ROOT / "signaling/static/room.html"]


def _glyphs(text: str) -> set[str]:
    """Symbols an emoji or symbol font would have to draw (a box without one)."""
    return {c for c in text if unicodedata.category(c) == "So" or 0x2190 <= ord(c) <= 0x23FF or ord(c) >= 0x1F000}


def test_no_template_draws_an_icon_with_a_glyph():
    found = {p.relative_to(ROOT).as_posix(): sorted(_glyphs(p.read_text(encoding="utf-8"))) for p in TEMPLATES}
    assert {k: v for k, v in found.items() if v} == {}


def test_every_icon_is_hidden_svg_and_the_pages_use_only_known_ones():
    for name in SHAPES:
        drawn = str(icon(name))
        assert drawn.startswith("<svg") and 'aria-hidden="true"' in drawn and 'focusable="false"' in drawn
    import re

    used = {m for p in TEMPLATES for m in re.findall(r'icon\("([a-z_]+)"\)', p.read_text(encoding="utf-8"))}
    assert used and used <= set(SHAPES), used - set(SHAPES)


async def test_the_start_page_shows_svg_icons(server):
    resp, text = await (await server.browser()).get("/portal/")
    assert resp.status == 200 and '<svg class="icon"' in text and not _glyphs(text)
