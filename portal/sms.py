"""Sending SMS: one small interface, a logging default (with a dev inbox) and an HTTP adapter.

The HTTP gateway is configured by a URL template, e.g.
`https://sms.example/send?to={to}&text={text}`; `{to}` and `{text}` are URL-encoded. Set it with the
environment variable VAIDYA_SMS_URL_TEMPLATE (kept out of the config file: it often carries an API key).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Protocol
from urllib.parse import quote

import aiohttp

from .models import SmsMessage

log = logging.getLogger(__name__)

SMS_URL_TEMPLATE_ENV = "VAIDYA_SMS_URL_TEMPLATE"


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    async def send(self, to: str, body: str) -> None: ...

    async def close(self) -> None: ...


class LogSmsGateway:
    """Writes each message to the server log; keeps the latest ones for the dev inbox page."""

    def __init__(self, keep: int = 200) -> None:
        self.sent: deque[SmsMessage] = deque(maxlen=keep)

    async def send(self, to: str, body: str) -> None:
        log.info("SMS to %s: %s", to, body)
        self.sent.append(SmsMessage(to=to, body=body, at=time.time()))

    async def close(self) -> None:
        return None


class HttpSmsGateway:
    """GETs the URL template with the number and text filled in; any 2xx reply counts as sent."""

    def __init__(self, url_template: str, timeout_s: float = 10.0) -> None:
        if "{to}" not in url_template or "{text}" not in url_template:
            raise ValueError("the SMS URL template needs {to} and {text}")
        self.url_template = url_template
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))

    async def send(self, to: str, body: str) -> None:
        url = self.url_template.format(to=quote(to, safe=""), text=quote(body, safe=""))
        try:
            async with self._session.get(url) as resp:
                if resp.status // 100 != 2:
                    raise SmsError(f"SMS gateway answered {resp.status}")
        except aiohttp.ClientError as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc

    async def close(self) -> None:
        await self._session.close()


def gateway_from_environment() -> SmsGateway:
    template = os.environ.get(SMS_URL_TEMPLATE_ENV, "")
    return HttpSmsGateway(template) if template else LogSmsGateway()
