"""Bad input in forms, routes and redirects gets a clear 400 or 404 (never a 500), changes nothing, and
repeated bad input is logged once with a count."""

from __future__ import annotations

import logging

from portal import middlewares
from portal import storage as st
from portal.db import connect
from portal.db import DB_FILE
from signaling.log_limit import RepeatLimitedLog

TOO_BIG = str(2**63)


async def _patient(server, mobile="9876543210"):
    browser = await server.browser()
    await browser.login_with_otp(mobile)
    return browser, await browser.register()


async def test_a_booking_with_an_opd_that_is_no_number_is_a_400_naming_the_field(server, clinic):
    browser, pid = await _patient(server)
    for opd in ("abc", TOO_BIG, "\u00b2", "-1"):
        resp, text = await browser.post(f"/portal/patients/{pid}/book", {"opd": opd, "language": "hi"})
        assert resp.status == 400, (opd, resp.status)
        assert "Choose an OPD." in text
    conn = connect(server.data_dir / DB_FILE)
    assert st.tokens_for_patients(conn, [pid]) == []  # nothing booked
    conn.close()


async def test_ids_of_2_63_and_more_are_404_on_every_route_never_500(server, clinic):
    browser, _ = await _patient(server)
    for path in (f"/portal/tokens/{TOO_BIG}", f"/portal/t/{TOO_BIG}", f"/portal/uploads/{TOO_BIG}",
                 f"/portal/tokens/{2**64}"):
        resp, _ = await browser.get(path)
        assert resp.status == 404, (path, resp.status)
    resp, body = await browser.api("GET", f"/portal/api/tokens/{TOO_BIG}")
    assert resp.status == 404 and set(body) == {"error", "message"} and body["error"] == "not_found"
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": 2**63})
    assert resp.status == 400 and body["error"] == "invalid" and "opd" in body["fields"]
    resp, _ = await doctor.get(f"/rx/consultations/{TOO_BIG}/new")
    assert resp.status == 404


async def test_a_redirect_parameter_with_cr_lf_goes_to_the_portal_home(server):
    browser = await server.browser()
    for target in ("/portal/me\r\nSet-Cookie: owned=1", "/portal/\n", "//evil.example/", "https://evil.example/portal/"):
        resp = await browser.client.get("/portal/lang", params={"l": "hi", "next": target}, allow_redirects=False)
        assert resp.status == 303, target
        assert resp.headers["Location"] == "/portal/" and "owned" not in resp.headers.get("Set-Cookie", "")
    resp = await browser.client.get("/portal/lang", params={"l": "hi", "next": "/portal/me?x=1"},
                                    allow_redirects=False)
    assert resp.headers["Location"] == "/portal/me?x=1"


async def test_names_with_bidi_overrides_controls_or_only_invisible_characters_are_refused(server):
    browser = await server.browser()
    await browser.login_with_otp("9876543210")
    base = {"age": "34", "sex": "female", "state": "Karnataka", "district": "Mysuru", "language": "hi"}
    for name in ("Asha \u202eiveD", "\u200b\u200b\u200b", "\u2066Asha", "Asha\x00", "\ufeff", "123"):
        resp, text = await browser.post("/portal/register", {**base, "name": name})
        assert resp.status == 400, repr(name)
    resp, text = await browser.post("/portal/register", {**base, "name": "Asha", "district": "My\u202esuru"})
    assert resp.status == 400 and "cannot be shown" in text
    # Indic names need the zero-width joiner and non-joiner: they stay accepted
    for name in ("\u0905\u0936\u094d\u200d\u0935\u093f\u0928", "\u0d15\u0d7c\u200c\u0d23\u0d7b"):
        resp, _ = await browser.post("/portal/register", {**base, "name": name})
        assert resp.status == 200, repr(name)


async def test_repeated_bad_input_is_logged_once_with_a_count(server, clinic, caplog, monkeypatch):
    monkeypatch.setattr(middlewares, "bad_input_log", RepeatLimitedLog(middlewares.log, interval_s=60))
    browser, pid = await _patient(server)
    with caplog.at_level(logging.INFO, "portal.middlewares"):
        for _ in range(20):
            resp, _ = await browser.api("GET", "/portal/api/tokens/x")
            assert resp.status == 404
            resp, _ = await browser.post(f"/portal/patients/{pid}/book", {"opd": "x", "language": "hi"})
            assert resp.status == 400
            resp, _ = await browser.post("/portal/register", {"name": "\u200b"})
            assert resp.status == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.middlewares"]
    assert len(lines) == 1 and "not_found" in lines[0], lines  # forms answer their own 400s: a page, no log
