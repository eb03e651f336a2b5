"""The portal's days and hours are the clinic's (config `timezone`, default Asia/Kolkata), whatever zone the
server runs in: a token booked at 00:30 in India is for the Indian day, and OPD hours are Indian hours.
Only the clinic clock is pinned; the server, database and pages are real."""

from __future__ import annotations

import datetime as dt
import types

import pytest

from portal import clinic_time
from portal import db
from portal import storage as st

from portal.db import DB_FILE

HALF_PAST_MIDNIGHT_IST = dt.datetime(2026, 11, 26, 19, 0, tzinfo=dt.UTC)
NINE_IN_THE_MORNING_IST = dt.datetime(2026, 11, 27, 3, 30, tzinfo=dt.UTC)


def _pin(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(clinic_time, "time", types.SimpleNamespace(time=moment.timestamp))


def test_the_clinic_clock_reads_the_indian_date_and_time(monkeypatch):
    _pin(monkeypatch, HALF_PAST_MIDNIGHT_IST)
    assert clinic_time.today() == dt.date(2026, 11, 27)
    assert clinic_time.now().strftime("%H:%M") == "00:30"


async def test_a_token_booked_at_half_past_midnight_is_for_the_indian_day(server, clinic, monkeypatch):
    _pin(monkeypatch, HALF_PAST_MIDNIGHT_IST)
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    token_id = await patient.book(await patient.register(language="en"), clinic.gen, language="en")
    assert (await patient.state(token_id))["token"]["day"] == "2026-11-27"
    _, page = await patient.get(f"/portal/tokens/{token_id}")
    assert "Nov 27, 2026" in page


async def test_opd_hours_are_the_clinics_hours(server, clinic, monkeypatch):
    conn = db.connect(server.data_dir / DB_FILE)
    morning = st.add_opd(conn, code="MRN", name="Morning OPD", opens="08:30", closes="09:30").id
    conn.close()
    _pin(monkeypatch, NINE_IN_THE_MORNING_IST)  # 03:30 UTC: closed by the server's clock, open in India
    patient = await server.browser()
    await patient.login_with_otp("9876543210")
    token_id = await patient.book(await patient.register(language="en"), morning, language="en")
    await patient.join(token_id)
    assert (await patient.state(token_id))["token"]["status"] == "waiting"


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC"])
def test_the_portal_takes_its_zone_from_the_configuration(tmp_path, zone):
    from portal.context import Portal
    from signaling.config import load_config

    portal = Portal(load_config(None, {"data_dir": tmp_path, "timezone": zone}))
    assert str(clinic_time.zone()) == zone and str(portal.catalogs.get("en").zone) == zone
    clinic_time.use_zone(load_config(None, {"data_dir": tmp_path}).zone)
