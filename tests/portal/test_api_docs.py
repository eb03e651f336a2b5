"""docs/api.md documents every portal endpoint, and documents nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from portal import routes

DOC = Path(__file__).parents[2] / "docs" / "api.md"
_ROW = re.compile(r"^\| `(GET|POST) (/portal/[^`]*)`", re.M)


def _segments(path: str) -> list[str]:
    path = path.split("?")[0].rstrip("/") or "/"
    return ["{}" if s.startswith("{") else s for s in path.split("/")]


def documented() -> set[tuple[str, tuple[str, ...]]]:
    found = set()
    for method, spec in _ROW.findall(DOC.read_text()):
        first, *more = [part.strip(" `") for part in spec.split("·")]
        base = first.rsplit("/", 1)[0]
        for path in [first, *(base + m for m in more)]:
            found.add((method, tuple(_segments(path))))
    return found


def served() -> set[tuple[str, tuple[str, ...]]]:
    app = web.Application()
    routes.setup(app)
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path")
        if route.method in ("GET", "POST") and path and "prefix" not in info:
            found.add((route.method, tuple(_segments("/portal" + path))))
    return found


def _matches(doc: tuple[str, ...], route: tuple[str, ...]) -> bool:
    return len(doc) == len(route) and all(r in ("{}", d) for d, r in zip(doc, route))


def test_every_endpoint_is_documented_and_every_documented_one_exists():
    docs, live = documented(), served()
    assert len(docs) > 30
    undocumented = [r for r in live if not any(d[0] == r[0] and _matches(d[1], r[1]) for d in docs)]
    phantom = [d for d in docs if not any(d[0] == r[0] and _matches(d[1], r[1]) for r in live)]
    assert undocumented == [] and phantom == [], (undocumented, phantom)
