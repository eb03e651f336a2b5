"""OTP limits that fit the network and that nobody else can spend for the patient (portal/otp.py): a real
server over a real SQLite file, patients in their own browsers, an attacker in others."""

from __future__ import annotations

import re
import sqlite3

import pytest

from portal import db, otp
from portal.errors import TooMany
from portal.otp import OtpCodes
from tests.portal.conftest import Server

MOBILE = "9876543210"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_other_browsers_wrong_guesses_do_not_stop_the_patients_own_code(server):
    patient, attacker = await server.browser(), await server.browser()
    await patient.get("/portal/")
    await patient.post("/portal/otp", {"mobile": MOBILE})
    code = server.last_code(MOBILE)
    await attacker.get("/portal/")
    statuses = [(await attacker.post("/portal/otp/verify", {"mobile": MOBILE, "code": wrong(code)}))[0].status
                for _ in range(otp.OTHER_MISSES_PER_NUMBER + 3)]
    assert statuses[:otp.OTHER_MISSES_PER_NUMBER] == [400] * otp.OTHER_MISSES_PER_NUMBER
    assert set(statuses[otp.OTHER_MISSES_PER_NUMBER:]) == {429}, "guessing stops for everyone else"
    resp, _ = await patient.post("/portal/otp/verify", {"mobile": MOBILE, "code": code})
    assert resp.status == 303, "the patient who asked for the code is let in"


async def test_a_right_code_from_elsewhere_is_refused_once_the_others_budget_is_spent(server):
    patient, attacker, other_phone = await server.browser(), await server.browser(), await server.browser()
    for b in (patient, attacker, other_phone):
        await b.get("/portal/")
    await patient.post("/portal/otp", {"mobile": MOBILE})
    code = server.last_code(MOBILE)
    for _ in range(otp.OTHER_MISSES_PER_NUMBER):
        await attacker.post("/portal/otp/verify", {"mobile": MOBILE, "code": wrong(code)})
    resp, _ = await other_phone.post("/portal/otp/verify", {"mobile": MOBILE, "code": code})
    assert resp.status == 429, "the shared budget is what bounds guessing: it holds for a right code too"


async def test_a_send_someone_else_forces_does_not_void_the_code_the_patient_is_typing(server):
    patient, attacker = await server.browser(), await server.browser()
    await patient.get("/portal/")
    await attacker.get("/portal/")
    await patient.post("/portal/otp", {"mobile": MOBILE})
    first = server.last_code(MOBILE)
    resp, _ = await attacker.post("/portal/otp", {"mobile": MOBILE})
    assert resp.status == 200
    resp, _ = await patient.post("/portal/otp/verify", {"mobile": MOBILE, "code": first})
    assert resp.status == 303
    resp, _ = await patient.post("/portal/otp/verify", {"mobile": MOBILE, "code": server.last_code(MOBILE)})
    assert resp.status == 400, "a login uses up every code of the number"


async def test_many_patients_behind_one_carrier_address_all_get_codes(server):
    browsers = [await server.browser() for _ in range(25)]
    statuses = []
    for i, b in enumerate(browsers):
        await b.get("/portal/")
        statuses.append((await b.post("/portal/otp", {"mobile": f"98765{i:05d}"}))[0].status)
    assert statuses == [200] * 25, "the 11th patient from one address used to be refused"


async def test_one_address_still_has_a_ceiling_and_all_sends_a_circuit_breaker(server, monkeypatch):
    monkeypatch.setattr(otp, "SENDS_PER_CLIENT", 4)
    b = await server.browser()
    await b.get("/portal/")
    statuses = [(await b.post("/portal/otp", {"mobile": f"90000000{i:02d}"}))[0].status for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    monkeypatch.setattr(otp, "SENDS_PER_CLIENT", 1000)
    monkeypatch.setattr(otp, "SENDS_PER_MINUTE", 5)
    resp, text = await b.post("/portal/otp", {"mobile": "9000000042"})
    assert resp.status == 200
    resp, text = await b.post("/portal/otp", {"mobile": "9000000043"})
    assert resp.status == 503 and "We could not send the SMS" in text
    assert len(server.portal.sms.sent) == 5


async def test_sends_to_one_number_are_capped_across_addresses(aiohttp_server, aiohttp_client, tmp_path, clinic):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True, trusted_proxies="127.0.0.1").start()
    b = await server.browser()
    await b.get("/portal/")
    statuses = []
    for i in range(otp.SENDS_PER_NUMBER + 1):
        resp, _ = await b.post("/portal/otp", {"mobile": MOBILE}, headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        statuses.append(resp.status)
    assert statuses == [200] * otp.SENDS_PER_NUMBER + [429]


# The windows, on the code table itself with a chosen clock ------------------------------------------------------

@pytest.fixture
def conn(tmp_path) -> sqlite3.Connection:
    c = db.connect(tmp_path / db.DB_FILE)
    db.migrate(c)
    return c


def test_a_lock_out_by_other_peoples_sends_ends_within_15_minutes(conn):
    codes = OtpCodes("s" * 40)
    for i in range(otp.SENDS_PER_NUMBER):
        codes.record_send(conn, MOBILE, f"198.51.100.{i}", f"attacker-{i}", "111111", now=1000.0 + i)
    with pytest.raises(TooMany, match="Too many codes"):
        codes.record_send(conn, MOBILE, "203.0.113.9", "patient", "222222", now=1000.0 + 600)
    codes.record_send(conn, MOBILE, "203.0.113.9", "patient", "222222", now=1000.0 + otp.NUMBER_WINDOW_S + 5)
    assert codes.check(conn, MOBILE, "222222", "patient", now=1000.0 + otp.NUMBER_WINDOW_S + 10) is None


def test_other_peoples_misses_stop_counting_after_the_window(conn):
    codes = OtpCodes("s" * 40)
    codes.record_send(conn, MOBILE, "203.0.113.9", "patient", "123456", now=0.0)
    for i in range(otp.OTHER_MISSES_PER_NUMBER):
        assert codes.check(conn, MOBILE, "000000", f"attacker-{i}", now=1.0 + i).code == "invalid"
    assert codes.check(conn, MOBILE, "123456", "another-phone", now=10.0).code == "otp_locked"
    later = otp.NUMBER_WINDOW_S + 20.0
    codes.record_send(conn, MOBILE, "203.0.113.9", "patient", "654321", now=later)
    assert codes.check(conn, MOBILE, "654321", "another-phone", now=later + 1) is None


# Proof of possession: the login link in every code's SMS ----------------------------------------------------

_LINK = re.compile(r"https?://[^/\s]+(/portal/l/\d+\?k=[A-Za-z0-9_-]+)")


def sms_link(server: Server, mobile: str = MOBILE) -> str:
    return _LINK.search(server.sms_to(mobile)[-1]).group(1)


async def test_the_link_in_the_code_sms_logs_the_owner_in_once_and_a_preview_uses_nothing(server):
    asking = await server.browser()
    await asking.post("/portal/otp", {"mobile": MOBILE})
    link = sms_link(server)
    phone = await server.browser()
    resp, page = await phone.get(link)
    assert resp.status == 200 and "ending in 3210" in page, page
    resp, _ = await phone.get("/portal/me", allow_redirects=False)
    assert resp.status in (302, 303), "opening the link (as a link preview does) logs nobody in"
    path, secret = link.split("?k=")
    resp, _ = await phone.post(path, {"k": secret[:-1] + ("A" if secret[-1] != "A" else "B")})
    assert resp.status == 403, "a wrong secret is refused"
    resp, _ = await phone.post(path, {"k": secret})
    assert resp.status == 303 and resp.headers["Location"] == "/portal/me"
    resp, _ = await phone.get("/portal/me", allow_redirects=False)
    assert resp.status == 200
    again = await server.browser()
    resp, _ = await again.post(path, {"k": secret})
    assert resp.status == 403, "a link logs in once"
    resp, _ = await asking.post("/portal/otp/verify", {"mobile": MOBILE, "code": server.last_code(MOBILE)})
    assert resp.status == 400, "logging in by the link uses up the code too"


async def test_an_attack_from_many_addresses_cannot_keep_the_owner_out(aiohttp_server, aiohttp_client, tmp_path, clinic):
    """Someone spends the number's sends and the others' guesses from several addresses: the owner can neither
    ask for a code nor type one, but the link in the SMS the attack itself sent to their phone lets them in."""
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True, trusted_proxies="127.0.0.1").start()
    attacker = await server.browser()
    for i in range(otp.SENDS_PER_NUMBER):
        await attacker.post("/portal/otp", {"mobile": MOBILE}, headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
    guesser = await server.browser()  # guesses from a browser that asked for no code: the others' budget
    for i in range(otp.OTHER_MISSES_PER_NUMBER):
        await guesser.post("/portal/otp/verify", {"mobile": MOBILE, "code": wrong(server.last_code(MOBILE))},
                           headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
    owner = await server.browser()
    resp, _ = await owner.post("/portal/otp", {"mobile": MOBILE}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert resp.status == 429, "the owner cannot ask for a code of their own"
    resp, _ = await owner.post("/portal/otp/verify", {"mobile": MOBILE, "code": server.last_code(MOBILE)},
                               headers={"X-Forwarded-For": "203.0.113.7"})
    assert resp.status == 429, "nor type the code the attack sent to their phone"
    path, secret = sms_link(server).split("?k=")
    resp, _ = await owner.post(path, {"k": secret}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert resp.status == 303
    resp, _ = await owner.get("/portal/me", allow_redirects=False)
    assert resp.status == 200


def test_whenever_others_have_spent_the_sends_the_latest_sms_link_still_works(conn):
    """The guarantee, minute by minute on the code table: a refused send always has a live link behind it."""
    codes = OtpCodes("s" * 40)
    latest = None
    for i in range(otp.SENDS_PER_NUMBER):
        latest = codes.record_send(conn, MOBILE, f"198.51.100.{i}", f"attacker-{i}", "111111", now=60.0 * i,
                                   link_secret=f"link-{i}")
    last_send = 60.0 * (otp.SENDS_PER_NUMBER - 1)
    t = last_send + 1
    while True:
        try:
            codes.record_send(conn, MOBILE, "203.0.113.9", "owner", "222222", now=t)
            break
        except TooMany:
            assert codes.link_holder(conn, latest, f"link-{otp.SENDS_PER_NUMBER - 1}", now=t) == MOBILE, t
        t += 30
    assert t <= otp.NUMBER_WINDOW_S + 30, "the send window slid open"
    assert codes.link_holder(conn, latest, f"link-{otp.SENDS_PER_NUMBER - 1}", now=last_send + otp.LINK_TTL_S + 1) is None
    assert codes.link_holder(conn, latest, "not-the-secret", now=last_send + 2) is None
    assert codes.redeem_link(conn, latest, f"link-{otp.SENDS_PER_NUMBER - 1}", now=t) == MOBILE
    assert codes.check(conn, MOBILE, "222222", "owner", now=t + 1).code == "invalid", "the link used every code up"
