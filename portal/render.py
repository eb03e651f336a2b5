"""Pages and JSON replies in the visitor's language: the jinja2 environment and the helpers views use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from . import keys

from signaling.assets import StaticFiles

from .errors import Invalid, PortalError
from .i18n import LANGUAGES, NATIVE_NAMES, Language
from .security import csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"
#: The portal's static files, fingerprinted (signaling/assets.py): templates write `{{ static("portal.css") }}`.
STATIC = StaticFiles(Path(__file__).parent / "static", mount="/static", public="/portal/static")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = STATIC.url
#: The frame (base.html) names the portal's own files with this, also where rx renders a page in it.
_env.globals["portal_static"] = STATIC.url


def lang(request: web.Request) -> Language:
    return request[keys.LANG]


def frame(request: web.Request) -> dict[str, Any]:
    """What the shared frame (templates/base.html: header, language picker, CSRF) needs from the request."""
    language = lang(request)
    from .context import PORTAL

    portal = request.app[PORTAL]
    return {
        "_": language.gettext,
        "ngettext": language.ngettext,
        "lang": language,
        "csrf": csrf_token(portal.secret, request[keys.BROWSER_ID]),
        "session": request.get(keys.SESSION),
        "languages": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
        "here": request.path_qs,
        "dev": portal.config.dev,
    }


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template with the translation functions, CSRF token and language picker filled in."""
    html = _env.get_template(template).render(**{**frame(request), **context})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def message(request: web.Request, error: PortalError) -> str:
    """The error's message in the visitor's language, times in it written the language's way."""
    language = lang(request)
    text = language.gettext(error.message)
    if not error.params:
        return text
    return text % {k: language.time(v) if isinstance(v, dt.time) else v for k, v in error.params.items()}


def field_errors(request: web.Request, error: Invalid) -> dict[str, str]:
    return {name: lang(request).gettext(text) for name, text in error.fields.items()}


def json_error(request: web.Request, error: PortalError) -> web.Response:
    body: dict[str, Any] = {"error": error.code, "message": message(request, error)}
    if isinstance(error, Invalid):
        body["fields"] = field_errors(request, error)
    return web.json_response(body, status=error.status)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/portal/api/") or request.headers.get("Accept", "").startswith(
        "application/json"
    )
