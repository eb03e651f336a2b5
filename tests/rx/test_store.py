"""The append-only store: signed versions immutable, corrections supersede, revocations need a reason."""

from __future__ import annotations

import sqlite3

import pytest

from rx.rules import RuleViolation
from rx.service import NotAllowed
from rx.store import Store, StoreError

from .builders import medicine, prescription
from .test_dispensing import CHEMIST


def test_a_signed_version_cannot_be_updated_or_deleted_even_with_sql(service, tmp_path):
    service.issue(prescription())
    db = sqlite3.connect(tmp_path / "vaidya.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE rx_versions SET canonical = x'00'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM rx_versions")


def test_a_correction_is_a_new_version_and_both_are_kept(service):
    first = service.issue(prescription())
    second = service.correct(first.prescription.id, "doc-1", medicines=(medicine(duration_days=5),))
    assert second.prescription.version == 2 and second.prescription.supersedes == 1
    versions = service.store.versions(first.prescription.id)
    assert [v.prescription.medicines[0].duration_days for v in versions] == [3, 5]
    assert versions[0].canonical == first.canonical


def test_a_correction_that_breaks_a_rule_stores_nothing(service):
    first = service.issue(prescription())
    with pytest.raises(RuleViolation):
        service.correct(first.prescription.id, "doc-1", diagnosis="")
    assert len(service.store.versions(first.prescription.id)) == 1


def test_a_rule_violation_at_first_issue_stores_nothing_not_even_a_key(service):
    with pytest.raises(RuleViolation):
        service.issue(prescription(diagnosis=""))
    assert service.store.versions(prescription().id) == [] and service.store.keys() == []


def test_only_the_issuing_doctor_may_correct_or_revoke(service):
    first = service.issue(prescription())
    with pytest.raises(NotAllowed):
        service.correct(first.prescription.id, "doc-2", advice="x")
    with pytest.raises(NotAllowed):
        service.revoke(first.prescription.id, "doc-2", "wrong patient")


def test_a_revocation_needs_a_reason_and_blocks_corrections_and_dispensing(service):
    first = service.issue(prescription())
    with pytest.raises(RuleViolation):
        service.revoke(first.prescription.id, "doc-1", "  ")
    service.revoke(first.prescription.id, "doc-1", "Issued to the wrong patient")
    assert service.store.revocation(first.prescription.id, 1).reason == "Issued to the wrong patient"
    with pytest.raises(StoreError):
        service.correct(first.prescription.id, "doc-1", advice="x")
    with pytest.raises(StoreError):
        service.dispense(first.prescription.id, 1, CHEMIST, {0: 9})
    with pytest.raises(StoreError):
        service.revoke(first.prescription.id, "doc-1", "again")


def test_a_version_out_of_order_is_refused(service):
    service.issue(prescription())
    with pytest.raises(StoreError):
        service.issue(prescription())  # a second "version 1"


def test_a_patient_and_a_doctor_list_the_latest_version_of_their_prescriptions(service):
    from .builders import patient
    a = service.issue(prescription())
    service.correct(a.prescription.id, "doc-1", advice="Rest")
    service.issue(prescription(id="AAAA-BBBB-CCCC", patient=patient(id="pat-2")))
    mine = service.store.latest_for(patient_id="pat-1")
    assert [(s.prescription.id, s.prescription.version) for s in mine] == [(a.prescription.id, 2)]
    assert len(service.store.latest_for(doctor_id="doc-1")) == 2


def test_the_store_opens_an_existing_database_and_keeps_the_records(service, tmp_path):
    service.issue(prescription())
    again = Store(tmp_path / "vaidya.db")
    assert again.latest(prescription().id).prescription == prescription()
