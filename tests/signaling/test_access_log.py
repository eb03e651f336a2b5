"""No secret a journey handles reaches the server's log: a real `vaidya serve` process, a patient who logs in
by OTP and by the SMS one-tap link, a doctor who logs in with a password, room tokens used on the signaling
WebSocket — then the whole log output is searched for every one of those secrets."""

from __future__ import annotations

import json
import re
import urllib.request

import aiohttp
import pytest
import yarl

from signaling.access_log import redact_target
from signaling.client import SignalingClient
from tests.helpers.server import SECRET, ServerProcess
from tests.portal.conftest import PASSWORD, Browser, make_clinic

MOBILE = "9876501234"


class RemoteInbox:
    """The dev SMS inbox of a server in another process, in the shape tests/portal's Browser reads."""

    def __init__(self, url: str) -> None:
        self.url = url

    def sms_to(self, mobile: str) -> list[str]:
        with urllib.request.urlopen(f"{self.url}/portal/api/dev/sms") as resp:
            return [m["body"] for m in json.load(resp)["messages"] if m["to"] == mobile]

    def last_code(self, mobile: str) -> str:
        return re.search(r"\b(\d{6})\b", self.sms_to(mobile)[-1]).group(1)


def _session(server: ServerProcess) -> aiohttp.ClientSession:
    """A browser's cookie jar (cookies from an IP address included) against the server."""
    return aiohttp.ClientSession(base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True))


def test_secret_parameters_are_redacted_and_the_rest_kept():
    assert redact_target("/portal/t/7?k=s3cr3t&lang=hi") == "/portal/t/7?k=[redacted]&lang=hi"
    assert redact_target("/rx/verify?c=PAYLOAD.SIG&v=2") == "/rx/verify?c=[redacted]&v=2"
    assert redact_target("/room/r1?TOKEN=abc#token=xyz") == "/room/r1?TOKEN=[redacted]"
    assert redact_target("/portal/") == "/portal/"


@pytest.mark.timeout(120)
async def test_no_secret_of_a_whole_journey_reaches_the_log(tmp_path):
    data = tmp_path / "data"
    clinic = make_clinic(data)
    # --dev: codes reach the test through the dev inbox page, and are not written to the log
    server = ServerProcess(data, extra_env={"VAIDYA_SMS_LOG_OTPS": "0"}, extra_args=("--dev",))
    secrets: dict[str, str] = {"server secret": SECRET, "staff password": PASSWORD}
    try:
        inbox = RemoteInbox(server.url)
        async with _session(server) as s1, _session(server) as s2, _session(server) as s3:
            patient = Browser(s1, inbox)  # type: ignore[arg-type]
            await patient.login_with_otp(MOBILE)
            secrets["OTP"] = inbox.last_code(MOBILE)
            secrets["CSRF token"] = patient.csrf
            pid = await patient.register("Asha Devi")
            token_id = await patient.book(pid, clinic.gen)
            link = next(body for body in inbox.sms_to(MOBILE) if "/portal/t/" in body)
            secrets["one-tap link secret"] = re.search(r"[?&]k=([^\s&]+)", link).group(1)

            # the one-tap link from another phone, and a wrong secret (an error line must not carry it either)
            tapper = Browser(s2, inbox)  # type: ignore[arg-type]
            resp, _ = await tapper.get(f"/portal/t/{token_id}?k={secrets['one-tap link secret']}")
            assert resp.status == 200 and f"/portal/tokens/{token_id}" in str(resp.url)
            secrets["guessed link secret"] = "Zq" + "w" * 40
            resp, _ = await tapper.get(f"/portal/t/{token_id}?k={secrets['guessed link secret']}",
                                       headers={"Referer": f"{server.url}/portal/t/{token_id}?k={secrets['one-tap link secret']}"})
            assert resp.status == 403
            await patient.join(token_id)

            doctor = Browser(s3, inbox)  # type: ignore[arg-type]
            resp, _ = await doctor.staff_login("dr-hindi")
            assert resp.status == 303, "the doctor's login failed"
            resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": clinic.gen})
            assert resp.status == 200, body
            room_url = body["room_url"]
            resp, _ = await patient.post(f"/portal/tokens/{token_id}/call")
            patient_url = resp.headers["Location"]
            for who, url in (("doctor room token", room_url), ("patient room token", patient_url)):
                secrets[who] = url.split("#token=", 1)[1].split("&", 1)[0]  # the fragment also names the language
            for jar, who in ((s1, "patient"), (s2, "one-tap"), (s3, "doctor")):
                secrets[f"{who} session cookie"] = jar.cookie_jar.filter_cookies(yarl.URL(server.url))["vaidya_s"].value

            room = patient_url.split("/room/", 1)[1].split("#", 1)[0]
            resp = await s1.get(f"/room/{room}")
            assert resp.status == 200
            for who in ("doctor room token", "patient room token"):
                client = await SignalingClient(server.ws_url).connect()
                try:
                    await client.join(room, secrets[who])
                finally:
                    await client.close()
    finally:
        log = server.stop()

    assert '"GET /portal/t/' in log and "k=[redacted]" in log, "the access log was not written at all:\n" + log
    for what, value in secrets.items():
        assert len(value) >= 6, what
        found = re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", log)
        assert found is None, f"the {what} is in the server's log:\n{log}"


async def test_the_access_line_names_the_client_a_trusted_proxy_forwarded(tmp_path, caplog):
    from aiohttp import web

    from signaling.access_log import RedactingAccessLogger
    from signaling.app import create_app
    from signaling.config import load_config

    caplog.set_level("INFO", logger="aiohttp.access")
    app = create_app(load_config(overrides={"data_dir": tmp_path, "trusted_proxies": "127.0.0.1"}))
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger, shutdown_timeout=1.0)  # as `vaidya serve`
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            await (await http.get(f"http://127.0.0.1:{port}/portal/t/3?k=abcdefgh1234",
                                  headers={"X-Forwarded-For": "203.0.113.50"})).read()
    finally:
        await runner.cleanup()
    line = next(r.getMessage() for r in caplog.records if "/portal/t/3" in r.getMessage())
    assert line.startswith('203.0.113.50 "GET /portal/t/3?k=[redacted] HTTP/1.1"'), line
    assert "abcdefgh1234" not in caplog.text
