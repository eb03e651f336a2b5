"""The access log, with every secret a URL can carry taken out before the line is written.

Some links carry a secret in their query: the SMS one-tap login (`/portal/t/<id>?k=…`), the prescription
verify link (`/rx/verify?c=…`, the signed prescription itself). aiohttp's default line logs the request
line and the Referer in full, so those secrets would sit in every log file and log shipper. This logger
writes the same facts with the values of secret parameters replaced; the parameter names stay, so a line
still says which kind of link was followed.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .client_address import client_address

#: Query parameters whose values are secrets or personal data (compared case-insensitively).
SECRET_PARAMETERS = frozenset({
    "k",             # the SMS one-tap login secret
    "c",             # a signed prescription (verify links)
    "token", "access_token", "jwt",
    "code", "otp",
    "password", "secret", "key", "sig", "signature",
    "mobile",
})
REDACTED = "[redacted]"


def redact_target(target: str) -> str:
    """The path and query with each secret parameter's value replaced; any fragment is dropped."""
    target = target.split("#", 1)[0]
    path, sep, query = target.partition("?")
    if not sep:
        return path
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        shown = REDACTED if name.lower() in SECRET_PARAMETERS else quote(value, safe="/:,.-_~")
        parts.append(f"{quote(name, safe='')}={shown}")
    return f"{path}?{'&'.join(parts)}"


def _client(request: web.BaseRequest) -> str:
    try:
        return client_address(request)
    except (AssertionError, KeyError, AttributeError):  # a request that matched no application
        return request.remote or "-"


class RedactingAccessLogger(AbstractAccessLogger):
    """One line per request: client, request line (secrets redacted), status, bytes, seconds, referer, agent."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        referer = request.headers.get("Referer")
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.3fs "%s" "%s"',
            _client(request), request.method, redact_target(request.raw_path),
            request.version.major, request.version.minor, response.status, response.body_length, time,
            redact_target(referer) if referer else "-", request.headers.get("User-Agent", "-"),
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
