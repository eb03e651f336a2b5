"""The pages' icons as inline SVG, drawn here: an emoji or symbol glyph shows as an empty box on a phone or
a clinic PC without an emoji font, and an icon must never be the only way to say something (each one
stands beside its words, hidden from screen readers)."""

from __future__ import annotations

from markupsafe import Markup

#: Stroke drawings on a 24×24 grid (the stylesheet's `.icon` gives them their size and colour).
SHAPES: dict[str, str] = {
    "arrow": '<path d="M4 12h15M13 6l6 6-6 6"/>',
    "back": '<path d="M20 12H5M11 6l-6 6 6 6"/>',
    "document": '<path d="M6 3h8l5 5v13H6zM14 3v5h5M9 13h7M9 17h7"/>',
    "phone": '<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z"/>',
    "ticket": '<path d="M3 7h18v3a2 2 0 0 0 0 4v3H3v-3a2 2 0 0 0 0-4zM14 7v10"/>',
    "stop": '<rect x="6" y="6" width="12" height="12" rx="1"/>',
    "refresh": '<path d="M20 12a8 8 0 1 1-2.3-5.7M20 4v5h-5"/>',
    "stethoscope": '<path d="M5 3v6a5 5 0 0 0 10 0V3M10 14v2a5 5 0 0 0 10 0v-3"/><circle cx="20" cy="11" r="2"/>',
    "video": '<rect x="2" y="6" width="13" height="12" rx="2"/><path d="M15 10l7-4v12l-7-4z"/>',
    "pencil": '<path d="M4 20l4-1 11-11-3-3L5 16zM14 6l3 3"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "cross": '<path class="solid" d="M9 3h6v6h6v6h-6v6H9v-6H3V9h6z"/>',
    "close": '<path d="M6 6l12 12M18 6L6 18"/>',
    "check": '<path d="M4 12l5 5L20 6"/>',
    "envelope": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
    "play": '<path d="M7 4l13 8-13 8z"/>',
    "pause": '<path d="M8 5v14M16 5v14"/>',
    "hourglass": '<path d="M6 3h12M6 21h12M7 3c0 6 10 6 10 9s-10 3-10 9M17 3c0 6-10 6-10 9s10 3 10 9"/>',
    "logout": '<path d="M10 4H5v16h5M15 8l4 4-4 4M9 12h10"/>',
    "home": '<path d="M3 11l9-8 9 8M5 10v10h14V10"/>',
    "upload": '<path d="M12 16V4M6 10l6-6 6 6M4 20h16"/>',
}


def icon(name: str) -> Markup:
    """`{{ icon("phone") }}`: the drawing, hidden from screen readers (its words stand beside it)."""
    return Markup(f'<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">{SHAPES[name]}</svg>')
