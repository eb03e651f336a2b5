"""The HTTP SMS gateway against a real HTTP endpoint: codes and token links arrive; when the gateway fails
the patient gets a clear message (OTP) or keeps the token on screen (booking)."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from portal.sms import SMS_URL_TEMPLATE_ENV, HttpSmsGateway, SmsError
from tests.portal.conftest import Server


class FakeOperator:
    """An SMS operator's HTTP API: records each message, or answers 500 while `failing`."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.failing = False

    async def send(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=500, text="operator down")
        self.messages.append((request.query["to"], request.query["msg"]))
        return web.Response(text="queued")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/send", self.send)
        return app


@pytest.fixture
async def operator(aiohttp_server, monkeypatch) -> FakeOperator:
    fake = FakeOperator()
    srv = await aiohttp_server(fake.app())
    monkeypatch.setenv(SMS_URL_TEMPLATE_ENV, str(srv.make_url("/send")) + "?key=demo&to={to}&msg={text}")
    return fake


async def test_codes_and_token_links_go_out_through_the_http_gateway(operator, aiohttp_server, aiohttp_client,
                                                                     tmp_path, clinic):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    assert isinstance(server.portal.sms, HttpSmsGateway)
    patient = await server.browser()
    await patient.get("/portal/lang?l=ta&next=/portal/")
    await patient.get("/portal/")
    await patient.post("/portal/otp", {"mobile": "+91 98765 43210"})
    to, text = operator.messages[-1]
    assert to == "9876543210" and "வைத்யா" in text  # in the patient's language, unmangled by the URL
    code = re.search(r"\b(\d{6})\b", text).group(1)
    resp, _ = await patient.post("/portal/otp/verify", {"mobile": "9876543210", "code": code})
    assert resp.status == 303
    token_id = await patient.book(await patient.register(language="ta"), clinic.gen, language="ta")
    assert f"/portal/t/{token_id}?k=" in operator.messages[-1][1]


async def test_a_failing_gateway_gives_a_clear_message_and_loses_no_token(operator, aiohttp_server, aiohttp_client,
                                                                           tmp_path, clinic):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    patient = await server.browser()
    await patient.get("/portal/lang?l=hi&next=/portal/")
    operator.failing = True
    resp, text = await patient.post("/portal/otp", {"mobile": "9876543210"})
    assert resp.status == 503 and "हम SMS नहीं भेज सके।" in text

    operator.failing = False
    await patient.post("/portal/otp", {"mobile": "9876543210"})
    code = re.search(r"\b(\d{6})\b", operator.messages[-1][1]).group(1)
    await patient.post("/portal/otp/verify", {"mobile": "9876543210", "code": code})
    pid = await patient.register()
    operator.failing = True
    token_id = await patient.book(pid, clinic.gen)  # the SMS fails, the token stands
    state = await patient.state(token_id)
    assert state["token"]["number"] == "GEN-001" and state["status"] == "booked"


def test_without_a_gateway_only_a_start_that_says_so_writes_codes_to_the_log(tmp_path, monkeypatch):
    """A production start without an SMS gateway refuses; --dev keeps codes for the inbox page only, and
    --sms-log-otps (`make serve`) is the explicit way to have them in the log."""
    import subprocess
    import sys

    monkeypatch.delenv(SMS_URL_TEMPLATE_ENV, raising=False)
    monkeypatch.delenv("VAIDYA_SMS_LOG_OTPS", raising=False)
    run = subprocess.run([sys.executable, "-m", "signaling.cli", "serve", "--port", "0", "--workers", "0",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "no SMS gateway" in run.stderr and "--sms-log-otps" in run.stderr


async def test_the_log_gateway_writes_the_text_only_when_told(caplog):
    from portal.sms import LogSmsGateway

    caplog.set_level("INFO", logger="portal.sms")
    await LogSmsGateway().send("9876543210", "Your Vaidya code is 424242.")
    await LogSmsGateway(log_text=True).send("9876543210", "Your Vaidya code is 535353.")
    assert "424242" not in caplog.text and "535353" in caplog.text


async def test_a_gateway_error_names_neither_the_text_nor_the_key(aiohttp_server):
    """aiohttp's redirect error prints the URL: the message the log gets must not."""
    app = web.Application()

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(request.rel_url))

    app.router.add_get("/send", loop)
    srv = await aiohttp_server(app)
    gateway = HttpSmsGateway(str(srv.make_url("/send")) + "?key=APIKEY123&to={to}&text={text}")
    try:
        with pytest.raises(SmsError) as failed:
            await gateway.send("9876543210", "Your Vaidya code is 246810.")
    finally:
        await gateway.close()
    assert "246810" not in str(failed.value) and "APIKEY123" not in str(failed.value), str(failed.value)
