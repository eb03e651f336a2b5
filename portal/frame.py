"""The web frame every page of the portal and of Rx stands in, as one module both import.

A page gets, from here only: a sub-application that runs the frame's middlewares (sessions, CSRF, rate
limits, security headers, the error pages and JSON error shape, the visitor's language), the frame's
template context (header, language and text-size pickers, way back), who is logged in, and the errors that
become those pages. Rx depends on the portal's web layer through this module alone (a test holds it to
that), so a new Rx page cannot be made without the frame, and the dependency points one way: portal
never imports rx.
"""

from __future__ import annotations

from aiohttp import web

from . import keys
from .auth import PATIENT_LOGIN, STAFF_LOGIN, pharmacist_id
from .context import PORTAL, Portal
from .errors import LoginRequired, NotFoundError, PortalError
from .icons import icon
from .middlewares import MIDDLEWARES
from .render import STATIC, frame, json_error
from .security import csrf_token
from .sms import SmsError
from .validate import json_object, parse_id, route_id

__all__ = [
    "PATIENT_LOGIN", "PORTAL", "STAFF_LOGIN", "STATIC", "LoginRequired", "NotFoundError", "Portal", "PortalError",
    "SmsError", "csrf_token", "frame", "frame_app", "icon", "json_error", "json_object", "keys", "parse_id",
    "pharmacist_id", "route_id",
]


def frame_app(portal: Portal) -> web.Application:
    """A sub-application whose every page and reply passes through the frame's middlewares."""
    sub = web.Application(middlewares=MIDDLEWARES)
    sub[PORTAL] = portal
    return sub
