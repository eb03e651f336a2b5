"""Registration numbers checked per council (placeholders refused), and consent recorded before signing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from portal.councils import registration_problem
from rx.formulary import default_formulary
from rx.model import Initiator
from rx.rules import check

from .builders import ISSUED, consent, consultation, doctor, prescription


@pytest.mark.parametrize(("number", "council"), [
    ("KMC-48213", "Karnataka Medical Council"),
    ("48213", "Karnataka Medical Council"),
    ("2005/02/0745", "Maharashtra Medical Council"),
    ("MMC 2005/02/0745", "Maharashtra Medical Council"),
    ("DMC/R/12457", "Delhi Medical Council"),
    ("TCMC-5521", "Travancore-Cochin Medical Council"),
    ("76543", "Tamil Nadu Medical Council"),
    ("WBMC 64210", "West Bengal Medical Council"),
    ("99120", "National Medical Commission"),
    ("48213", "KMC"),
])
def test_registration_numbers_as_councils_write_them_are_accepted(number, council):
    assert registration_problem(number, council) is None


@pytest.mark.parametrize("number", ["0000", "XXXX", "NA", "N/A", "12345", "TEST", "test-001", "KMC-00000",
                                    "KMC 123456", "nil", "99999"])
def test_placeholders_are_refused_with_a_clear_message(number):
    problem = registration_problem(number, "Karnataka Medical Council")
    assert problem is not None and "placeholder" in problem


@pytest.mark.parametrize(("number", "council", "words"), [
    ("48213!", "Karnataka Medical Council", "not a registration number"),
    ("KMC-", "Karnataka Medical Council", "not a registration number"),
    ("42", "Karnataka Medical Council", "not a registration number"),
    ("MMC-48213", "Karnataka Medical Council", "MMC is not an abbreviation of Karnataka Medical Council"),
    ("48213", "Indian Medical Board", "not a medical council we know"),
])
def test_malformed_numbers_and_unknown_councils_are_refused_naming_the_fault(number, council, words):
    assert words in (registration_problem(number, council) or "")


def test_signing_refuses_a_placeholder_registration():
    problems = check(prescription(doctor=doctor(registration_number="0000")), default_formulary())
    assert [p.code for p in problems] == ["registration_format"]
    assert "0000" in problems[0].message


def test_consent_recorded_after_signing_is_refused():
    late = dataclasses.replace(consent(), recorded_at=ISSUED + timedelta(minutes=20))
    rx = prescription(consultation=consultation(started_by=Initiator.HEALTH_WORKER, consent=late))
    [problem] = check(rx, default_formulary())
    assert problem.code == "consent_time" and "after the prescription" in problem.message
    on_time = dataclasses.replace(consent(), recorded_at=ISSUED - timedelta(minutes=5))
    assert check(prescription(consultation=consultation(started_by=Initiator.HEALTH_WORKER, consent=on_time)),
                 default_formulary()) == []
