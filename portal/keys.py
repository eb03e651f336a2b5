"""Typed keys for what the portal's middlewares put on each request."""

from __future__ import annotations

from aiohttp import web

from .accounts import Session
from .i18n import Language

BROWSER_ID = web.RequestKey("portal_browser_id", str)
LANG = web.RequestKey("portal_lang", Language)
SESSION_RAW: web.RequestKey[str | None] = web.RequestKey("portal_session_raw")
SESSION: web.RequestKey[Session | None] = web.RequestKey("portal_session")
