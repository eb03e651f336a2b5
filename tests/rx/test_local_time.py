"""Dates a person reads are in the clinic's time zone (default Asia/Kolkata); stored instants stay UTC.

At 00:30 in India it is still 19:00 UTC the day before: the printout, the pages, the SMS and the
follow-up check must all use the Indian date.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from portal.i18n import Catalogs
from rx.fhir import prescription_bundle
from rx.formulary import default_formulary
from rx.model import Consent, EarlierConsult, Initiator, Mode, PharmacistSnapshot, Visit
from rx.pdf import render_pdf
from rx.rules import check
from rx.service import RxService
from rx.store import Store
from rx.web import RX_SERVICE, prescription_sms
from signaling.config import ConfigError, load_config

from .builders import IN_PERSON, SECRET, consultation, doctor, patient, prescription

BASE = "https://vaidya.example.in"
#: 00:30 on 27 November 2026 in India.
HALF_PAST_MIDNIGHT_IST = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
INDIA = ZoneInfo("Asia/Kolkata")


def _at_midnight(**changes):
    base = {"issued_at": HALF_PAST_MIDNIGHT_IST, "consultation": consultation(started_at=HALF_PAST_MIDNIGHT_IST),
            "patient": patient(language="en"), "follow_up": date(2026, 11, 30)}
    return prescription(**{**base, **changes})


@pytest.fixture
def midnight_service(tmp_path) -> RxService:
    return RxService(Store(tmp_path / "vaidya.db"), SECRET, clock=lambda: HALF_PAST_MIDNIGHT_IST)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_printout_at_half_past_midnight_in_india_carries_the_indian_date(midnight_service):
    signed = midnight_service.issue(_at_midnight())
    text = _text(render_pdf(signed, BASE))
    assert "Date: 27-11-2026" in text and "27-11-2026 00:30 IST" in text
    assert "26-11-2026" not in text
    assert b'"issued_at":"2026-11-26T19:00:00Z"' in signed.canonical  # the stored instant stays UTC


def test_a_clinic_in_another_zone_prints_its_own_date(midnight_service):
    signed = midnight_service.issue(_at_midnight())
    text = _text(render_pdf(signed, BASE, zone=ZoneInfo("UTC")))
    assert "Date: 26-11-2026" in text and "26-11-2026 19:00 UTC" in text


def test_a_follow_up_on_the_utc_date_is_before_the_indian_prescription_date():
    problems = check(_at_midnight(follow_up=date(2026, 11, 26)), default_formulary())
    assert [p.code for p in problems] == ["follow_up"]
    assert check(_at_midnight(follow_up=date(2026, 11, 27)), default_formulary()) == []


def _follow_up_at_midnight(**basis):
    c = consultation(started_at=HALF_PAST_MIDNIGHT_IST, visit=Visit.FOLLOW_UP, **basis)
    return _at_midnight(consultation=c)


def test_the_six_month_window_counts_back_from_the_indian_day():
    # On 27-11-2026 (India) the window opens on 27-05-2026; on the UTC day (26-11) it would open a day earlier.
    too_old = _follow_up_at_midnight(follows=EarlierConsult(id="41", on=date(2026, 5, 26), mode=Mode.VIDEO))
    [problem] = check(too_old, default_formulary())
    assert problem.code == "follow_up_window" and "before 27-05-2026" in problem.message
    assert check(too_old, default_formulary(), ZoneInfo("UTC")) == []  # a UTC clinic is still on 26-11
    inside = _follow_up_at_midnight(follows=EarlierConsult(id="41", on=date(2026, 5, 27), mode=Mode.VIDEO))
    assert check(inside, default_formulary()) == []


def test_an_in_person_consultation_held_today_in_india_is_not_in_the_future():
    today_in_india = dataclasses.replace(IN_PERSON, on=date(2026, 11, 27))
    rx = _follow_up_at_midnight(follows=None, in_person=today_in_india, prior_in_person=True)
    assert check(rx, default_formulary()) == []
    tomorrow = dataclasses.replace(IN_PERSON, on=date(2026, 11, 28))
    rx = _follow_up_at_midnight(follows=None, in_person=tomorrow, prior_in_person=True)
    assert [p.code for p in check(rx, default_formulary())] == ["in_person_date"]
    # A clinic on UTC is still on 26-11: the same declaration is a day in its future.
    rx = _follow_up_at_midnight(follows=None, in_person=today_in_india, prior_in_person=True)
    assert [p.code for p in check(rx, default_formulary(), ZoneInfo("UTC"))] == ["in_person_date"]


def test_a_late_consent_is_named_in_the_clinics_time():
    late = Consent("Sita Devi (patient)", HALF_PAST_MIDNIGHT_IST + timedelta(minutes=20), "verbal, on video")
    rx = _at_midnight(consultation=consultation(started_at=HALF_PAST_MIDNIGHT_IST, consent=late,
                                                started_by=Initiator.HEALTH_WORKER))
    [problem] = check(rx, default_formulary())
    assert problem.code == "consent_time"
    assert "27-11-2026 00:50 IST" in problem.message and "(27-11-2026 00:30 IST)" in problem.message


def test_the_service_checks_the_follow_up_in_its_own_zone(tmp_path):
    utc_clinic = RxService(Store(tmp_path / "vaidya.db"), SECRET, clock=lambda: HALF_PAST_MIDNIGHT_IST,
                           zone=ZoneInfo("UTC"))
    assert utc_clinic.issue(_at_midnight(follow_up=date(2026, 11, 26))).prescription.follow_up == date(2026, 11, 26)


def test_the_fhir_bundle_shows_instants_at_the_clinics_offset(midnight_service):
    signed = midnight_service.issue(_at_midnight())
    bundle = prescription_bundle(signed, b"%PDF-1.7", BASE)
    composition = bundle["entry"][0]["resource"]
    assert composition["date"] == "2026-11-27T00:30:00+05:30"
    assert bundle["timestamp"] == "2026-11-27T00:30:00+05:30"


def test_the_sms_names_the_indian_date(midnight_service):
    signed = midnight_service.issue(_at_midnight())
    text = prescription_sms(signed, BASE, INDIA)
    assert "27-11-2026" in text and signed.prescription.id in text


def test_the_config_has_a_time_zone_defaulting_to_india_and_refuses_an_unknown_one(tmp_path):
    assert load_config(None, {"data_dir": tmp_path}).timezone == "Asia/Kolkata"
    assert load_config(None, {"data_dir": tmp_path}).zone == INDIA
    assert load_config(None, {"data_dir": tmp_path, "timezone": "Asia/Kathmandu"}).zone == ZoneInfo("Asia/Kathmandu")
    with pytest.raises(ConfigError, match="timezone"):
        load_config(None, {"data_dir": tmp_path, "timezone": "Mars/Olympus"})


def test_portal_dates_and_times_of_stored_instants_are_the_clinics():
    english = Catalogs(INDIA).get("en")
    assert english.date(HALF_PAST_MIDNIGHT_IST.timestamp()) == "Nov 27, 2026"
    assert english.time(HALF_PAST_MIDNIGHT_IST.timestamp()) == "12:30\u202fAM"


async def test_the_verify_page_and_the_list_show_the_indian_date(site):
    clinic, app, visitor = site
    rx = _at_midnight(doctor=doctor(id=str(clinic.doctor_a)), patient=patient(id=clinic.patient_a))
    signed = app[RX_SERVICE].issue(rx)
    page = await (await (await visitor()).get(f"/rx/verify?id={signed.prescription.id}")).text()
    assert "27-11-2026" in page and "26-11-2026" not in page
    mine = await (await (await visitor("patient", "9800000001")).get("/rx/mine")).text()
    assert "27-11-2026" in mine and "26-11-2026" not in mine


async def test_a_dispensing_mark_at_half_past_midnight_shows_the_indian_time(site):
    clinic, app, visitor = site
    service = app[RX_SERVICE]
    signed = service.issue(prescription(doctor=doctor(id=str(clinic.doctor_a)), patient=patient(id=clinic.patient_a)))
    chemist = PharmacistSnapshot(id="7", name="M. Iyer", licence_number="KSPC-22310", pharmacy="Jan Aushadhi Kendra")
    service.store.dispense(signed.prescription.id, 1, chemist, {0: 9}, {0: 9}, "", HALF_PAST_MIDNIGHT_IST)
    page = await (await (await visitor()).get(f"/rx/verify?id={signed.prescription.id}")).text()
    assert "27-11-2026 00:30 IST" in page and "19:00" not in page
