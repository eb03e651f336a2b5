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

from signaling.config import Config, ConfigError

from .models import SmsMessage

log = logging.getLogger(__name__)

SMS_URL_TEMPLATE_ENV = "VAIDYA_SMS_URL_TEMPLATE"


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    async def send(self, to: str, body: str) -> None: ...

    async def close(self) -> None: ...


class LogSmsGateway:
    """No gateway: keeps the latest messages for the dev inbox page, and writes their text (one-time codes
    and login links included) to the log only when told to (`sms_log_otps`)."""

    def __init__(self, keep: int = 200, log_text: bool = False) -> None:
        self.sent: deque[SmsMessage] = deque(maxlen=keep)
        self.log_text = log_text

    async def send(self, to: str, body: str) -> None:
        if self.log_text:
            log.info("SMS to %s: %s", to, body)
        else:
            log.info("SMS to %s not sent (no SMS gateway): %d characters kept for the dev inbox", to, len(body))
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
            # the class only: some aiohttp errors print the URL, and the URL holds the text and the API key
            raise SmsError(f"SMS gateway unreachable ({type(exc).__name__})") from None

    async def close(self) -> None:
        await self._session.close()


def gateway_from_environment(log_text: bool = False) -> SmsGateway:
    """The HTTP gateway when VAIDYA_SMS_URL_TEMPLATE is set, else the log gateway (text logged if `log_text`)."""
    template = os.environ.get(SMS_URL_TEMPLATE_ENV, "")
    return HttpSmsGateway(template) if template else LogSmsGateway(log_text=log_text)


def refuse_start_without_gateway(config: Config) -> None:
    """A production start (not `dev`) with no SMS gateway would leave patients without codes, or — the old
    behaviour — write every code to the log: refuse unless `sms_log_otps` says the log is where they go."""
    if os.environ.get(SMS_URL_TEMPLATE_ENV) or config.dev or config.sms_log_otps or not config.records:
        return
    raise ConfigError(
        f"no SMS gateway: set {SMS_URL_TEMPLATE_ENV} (docs/portal.md), or start with --sms-log-otps "
        "(VAIDYA_SMS_LOG_OTPS=1) to write one-time codes and login links to the log — never in production"
    )
