"""What every reply carries, whoever made it (signaling, portal, Rx, a static file or an error page):
the security headers, a charset on text, a cache policy, and brotli or gzip for text bodies.

The Content-Security-Policy allows scripts, styles and connections from this origin only (`'self'` also
covers this host's ws:/wss:), so an injected `<script>` or `onclick=` does not run; no page may be framed
(`frame-ancestors 'none'`, and X-Frame-Options for older browsers). Pages and JSON are `no-store`: they
carry patient data. Static files set their own cache policy (signaling/assets.py).
"""

from __future__ import annotations

from aiohttp import web

from .assets import MIN_COMPRESS_BYTES, accepted_coding, compress

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # SMS login links and prescription verify links carry a secret in the query: never pass it on
    "Referrer-Policy": "no-referrer",
}
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


def is_text(content_type: str) -> bool:
    return content_type.startswith(_TEXT_TYPES)


async def add_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every reply, error pages and static files included."""
    if response.status == 101:  # a WebSocket: the handshake is done
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Content-Type" in response.headers and is_text(response.content_type) and not response.charset:
        response.charset = "utf-8"
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def compress_text(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Compress text replies made in memory (pages, JSON): brotli for clients that accept it, else gzip."""
    response = await handler(request)
    coding = accepted_coding(request)
    if type(response) is not web.Response or response.prepared or coding is None:
        return response
    body = response.body
    if (isinstance(body, bytes) and len(body) >= MIN_COMPRESS_BYTES and is_text(response.content_type)
            and "Content-Encoding" not in response.headers):
        compress(response, coding)
    return response


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_headers)
    app.middlewares.append(compress_text)
