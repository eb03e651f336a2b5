"""The portal's middlewares, outermost first:

1. `context` — browser id cookie, language, session; the browser id cookie on every reply.
2. `errors` — a PortalError becomes a page or JSON reply in the visitor's language; missing login redirects.
3. `rate_limit` — per client address: reads, writes and logins each have a budget.
4. `form_body` — a form POST's body is parsed here, once (views get it cached); one that cannot be read
   (bytes that are not UTF-8, control characters in a part's headers, a broken boundary) is `400 invalid`.
5. `csrf` — every POST carries the token bound to the browser id cookie (form field or header).

They run on the portal's sub-application only, never on signaling's WebSocket or room page.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from signaling.log_limit import RepeatLimitedLog

from . import keys

from .auth import SESSION_COOKIE, client_address
from .context import PORTAL
from .errors import Forbidden, Internal, Invalid, LoginRequired, PortalError, TooMany
from .i18n import N_
from .render import json_error, message, page, see_other, wants_json
from .security import check_csrf

log = logging.getLogger(__name__)
#: Bad input and faults, logged once per kind and minute with a count (a scanner cannot flood the log).
bad_input_log = RepeatLimitedLog(log)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BROWSER_COOKIE = "vaidya_b"

LANG_COOKIE = "vaidya_lang"
YEAR_S = 365 * 24 * 3600


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except LoginRequired as exc:
        if wants_json(request):
            return json_error(request, exc)
        return see_other(exc.login_url)
    except PortalError as exc:
        if exc.status in (400, 404):
            bad_input_log.info(exc.code, "bad input: %s %s: %s", request.method,
                               request.path[:200], exc.code)
        return error_reply(request, exc)
    except (web.HTTPException, asyncio.CancelledError, ConnectionError):  # answers, and visitors gone away
        raise
    except Exception as exc:
        # A fault of ours: the traceback once a minute per kind, a count otherwise; the visitor gets the
        # documented error shape instead of aiohttp's bare 500 (and its one traceback per request).
        bad_input_log.exception(f"internal:{type(exc).__name__}", "internal error on %s %s", request.method,
                                request.path[:200])
        return error_reply(request, Internal())


def error_reply(request: web.Request, exc: PortalError) -> web.Response:
    """A PortalError as JSON (`{"error", "message", "fields"?}`) or as the error page."""
    if wants_json(request):
        return json_error(request, exc)
    return page(request, "error.html", status=exc.status, error=message(request, exc))


def secure_cookies(request: web.Request) -> bool:
    return request.app[PORTAL].config.base_url.startswith("https://")


@web.middleware
async def context(request: web.Request, handler: Handler) -> web.StreamResponse:
    portal = request.app[PORTAL]
    browser_id = request.cookies.get(BROWSER_COOKIE, "")
    fresh = len(browser_id) < 20
    if fresh:
        browser_id = secrets.token_urlsafe(24)
    request[keys.BROWSER_ID] = browser_id
    request[keys.LANG] = portal.catalogs.negotiate(request.cookies.get(LANG_COOKIE),
                                                request.headers.get("Accept-Language"))
    request[keys.SESSION_RAW] = request.cookies.get(SESSION_COOKIE)
    request[keys.SESSION] = await portal.accounts.session(request[keys.SESSION_RAW])
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _finish(request, response, fresh)
        raise
    _finish(request, response, fresh)
    return response


def _finish(request: web.Request, response: web.StreamResponse, fresh_browser: bool) -> None:
    if response.prepared:  # a WebSocket: headers are gone
        return
    # security headers, charset and the cache policy: signaling/headers.py, on every reply of the server
    if fresh_browser and "public" not in response.headers.get("Cache-Control", ""):  # never a cached cookie
        response.set_cookie(BROWSER_COOKIE, request[keys.BROWSER_ID], max_age=YEAR_S, httponly=True,
                            samesite="Lax", secure=secure_cookies(request), path="/")


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    limits = request.app[PORTAL].limits
    client = client_address(request)
    bucket = limits.post if request.method == "POST" else limits.read
    if not bucket.allow(client):
        raise TooMany("rate_limited", N_("Too many requests. Please wait a minute."))
    return await handler(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def form_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "POST" and request.content_type in FORM_TYPES:
        try:
            await request.post()
        except (HttpProcessingError, UnicodeDecodeError, ValueError):
            raise Invalid({"body": N_("This form could not be read.")}) from None
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        presented = request.headers.get("X-CSRF-Token")
        if presented is None and request.content_type in FORM_TYPES:
            form = await request.post()
            value = form.get("csrf")
            presented = value if isinstance(value, str) else None
        if not check_csrf(request.app[PORTAL].secret, request.cookies.get(BROWSER_COOKIE), presented):
            raise Forbidden("csrf", N_("This form has expired. Please go back and try again."))
    return await handler(request)


MIDDLEWARES = [context, errors, rate_limit, form_body, csrf]
