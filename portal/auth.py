"""Who may call a view: each returns the caller's subject or raises LoginRequired."""

from __future__ import annotations

from aiohttp import web

from . import keys

from .errors import LoginRequired

PATIENT_LOGIN = "/portal/"
STAFF_LOGIN = "/portal/staff/login"


def _subject(request: web.Request, kind: str, login_url: str) -> str:
    session = request.get(keys.SESSION)
    if session is None or session.kind != kind:
        raise LoginRequired(login_url)
    return session.subject


def patient_mobile(request: web.Request) -> str:
    """The mobile number the visitor proved with an OTP (or an SMS token link)."""
    return _subject(request, "patient", PATIENT_LOGIN)


def doctor_id(request: web.Request) -> int:
    return int(_subject(request, "doctor", STAFF_LOGIN))


def health_worker_id(request: web.Request) -> int:
    return int(_subject(request, "health_worker", STAFF_LOGIN))


def pharmacist_id(request: web.Request) -> int:
    return int(_subject(request, "pharmacist", STAFF_LOGIN))


def client_address(request: web.Request) -> str:
    """The client's address for limits and the audit log (behind a trusted proxy: the one it names)."""
    from signaling.client_address import client_address as resolve

    return resolve(request)


SESSION_COOKIE = "vaidya_s"


async def log_in(request: web.Request, kind: str, subject: str, location: str) -> web.Response:
    """Start a session (a fresh id, so a planted cookie is useless) and go to `location`."""
    from .accounts import SESSION_TTL_S
    from .context import PORTAL
    from .render import see_other

    portal = request.app[PORTAL]
    await portal.accounts.end_session(request.get(keys.SESSION_RAW))
    raw = await portal.accounts.start_session(kind, subject)
    response = see_other(location)
    response.set_cookie(SESSION_COOKIE, raw, max_age=SESSION_TTL_S, httponly=True, samesite="Lax",
                        secure=portal.config.base_url.startswith("https://"), path="/")
    return response


async def log_out(request: web.Request, location: str) -> web.Response:
    from .context import PORTAL
    from .render import see_other

    await request.app[PORTAL].accounts.end_session(request.get(keys.SESSION_RAW))
    response = see_other(location)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
