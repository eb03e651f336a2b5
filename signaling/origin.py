"""Which pages may open this server's WebSockets: its own origin, `public_url`'s, and `ws_allowed_origins`.

A browser sends its page's Origin with every WebSocket handshake and sends the site's cookies with it too,
so without this check any web page a patient or doctor visits could open the queue or signaling socket
in their name (cross-site WebSocket hijacking). Clients that are not browsers send no Origin and are let
through: they carry their own credentials (a room token), which a foreign page cannot read.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from aiohttp import web

from . import keys


def _origin_of(url: str) -> str:
    """scheme://host[:port], lower-cased, default ports dropped; ValueError for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) origin")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


@lru_cache(maxsize=8)
def parse_origins(text: str) -> frozenset[str]:
    """Comma-separated origins ("https://opd.example.org, http://10.0.0.5:8080")."""
    return frozenset(_origin_of(item) for item in text.split(",") if item.strip())


def origin_allowed(request: web.BaseRequest) -> bool:
    """No Origin (not a browser), this server's own origin, or one the configuration allows."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        presented = _origin_of(origin)
    except ValueError:  # "null" (a sandboxed frame, a file:// page) or garbage
        return False
    config = request.config_dict[keys.CONFIG]
    allowed = set(parse_origins(config.ws_allowed_origins))
    try:
        allowed.add(_origin_of(f"{request.scheme}://{request.host}"))
    except ValueError:  # a Host header that names no host: only the configured origins remain
        pass
    if config.public_url:
        allowed.add(_origin_of(config.public_url))
    return presented in allowed


def require_allowed_origin(request: web.BaseRequest) -> None:
    """Refuse a WebSocket handshake from a foreign page with 403, before the upgrade."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="this page's origin may not open this WebSocket")
