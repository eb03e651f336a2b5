"""HTML for the verification page and the prescription lists (jinja2, autoescaped; no aiohttp here).

The patient's pages extend the portal's frame, `portal/base.html` (header, language picker, way back), so
they look and behave like the rest of the patient's pages; their context starts from `portal.render.frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from portal.render import STATIC as PORTAL_STATIC

from .dosage import FREQUENCIES
from .localtime import date_text, local_date_text, local_stamp

_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        jinja2.PrefixLoader({"portal": jinja2.FileSystemLoader(str(resources.files("portal") / "templates"))}),
    ]),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["frequencies"] = FREQUENCIES
#: Instants are stored in UTC and shown in the clinic's zone: `{{ rx.issued_at | local_date(zone) }}`.
_env.filters["local_date"] = local_date_text
_env.filters["local_stamp"] = local_stamp
#: A calendar date already in the clinic's zone (an earlier consultation's day), as DD-MM-YYYY.
_env.filters["date_text"] = date_text


def use_static_urls(url: Callable[[str], str]) -> None:
    """How templates name a static file (`{{ static("rx.css") }}`): the web layer's fingerprinted URLs."""
    _env.globals["static"] = url


use_static_urls(lambda name: f"/rx/static/{name}")
#: The portal's frame (portal/templates/base.html) links the portal's stylesheet, whoever renders it.
_env.globals["portal_static"] = PORTAL_STATIC.url


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)
