"""A browser-like HTTP client for the fuzzed portal: its own cookies, the CSRF token from the last page,
and the patient's and staff's logins done the real way (OTP from the dev SMS inbox, password)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from portal.context import PORTAL
from tests.portal.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class WebVisitor:
    def __init__(self, base_url: str, app: Any) -> None:
        self.base_url = base_url
        self.app = app
        # unsafe: keep cookies for an IP address host (127.0.0.1)
        self.http = aiohttp.ClientSession(base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def request(self, method: str, path: str, **kw: Any) -> tuple[aiohttp.ClientResponse, bytes]:
        """One request (never following redirects); the page's CSRF token is kept for the next POST."""
        if method == "POST" and not self.csrf:
            await self.request("GET", "/portal/")
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})} if method == "POST" else kw.pop("headers", {})
        async with self.http.request(method, path, allow_redirects=False, headers=headers, **kw) as resp:
            body = await resp.read()
        found = _CSRF.search(body.decode("utf-8", "replace"))
        if found:
            self.csrf = found.group(1)
        return resp, body

    async def post_form(self, path: str, data: Any) -> tuple[aiohttp.ClientResponse, bytes]:
        return await self.request("POST", path, data=data)

    async def as_patient(self, mobile: str) -> WebVisitor:
        await self.post_form("/portal/otp", {"mobile": mobile})
        sms = [m.body for m in self.app[PORTAL].sms.sent if m.to.endswith(mobile[-10:])][-1]
        code = re.search(r"\b(\d{6})\b", sms).group(1)
        resp, _ = await self.post_form("/portal/otp/verify", {"mobile": mobile, "code": code})
        assert resp.status == 303, "the OTP login failed"
        return self

    async def as_staff(self, username: str) -> WebVisitor:
        resp, _ = await self.post_form("/portal/staff/login", {"username": username, "password": PASSWORD})
        assert resp.status == 303, "the staff login failed"
        return self

    async def close(self) -> None:
        await self.http.close()
