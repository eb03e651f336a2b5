"""Dispensing: only a registered pharmacist, a quantity per line, no second fill beyond what was prescribed
(unless repeats are allowed), and the record shows what was given, when and where."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from yarl import URL

from rx.canonical import parse_canonical
from rx.fhir import prescription_bundle
from rx.model import PharmacistSnapshot
from rx.service import DispenseRefused
from rx.store import SCHEMA_VERSION, Store, StoreError
from rx.verify import Status, verify_id

from .builders import ISSUED, medicine, prescription
from .web_harness import FORM, MEDICINE

CHEMIST = PharmacistSnapshot(id="7", name="M. Iyer", licence_number="KSPC-22310",
                             pharmacy="Jan Aushadhi Kendra, Hosakote")
V1_DB = Path(__file__).parent / "data" / "rx-schema-1.db"


def _two_lines(**second):
    return prescription(medicines=(
        medicine(quantity=9),
        medicine("Cetirizine", strength="10 mg", frequency="HS", duration_days=5, quantity=5, **second)))


def test_each_line_records_its_quantity_and_a_second_fill_beyond_it_is_refused(service):
    signed = service.issue(_two_lines())
    first = service.dispense(signed.prescription.id, 1, CHEMIST, {0: 9, 1: 3})
    assert (first.pharmacy, first.licence_number, dict(first.lines)) == (CHEMIST.pharmacy, "KSPC-22310", {0: 9, 1: 3})
    service.dispense(signed.prescription.id, 1, CHEMIST, {1: 2})  # the rest of the cetirizine
    for lines in ({0: 1}, {1: 1}):
        with pytest.raises(DispenseRefused, match="already dispensed"):
            service.dispense(signed.prescription.id, 1, CHEMIST, lines)
    assert service.store.dispensed_totals(signed.prescription.id) == {0: 9, 1: 5}


def test_repeats_allow_further_fills_up_to_the_total_the_doctor_allowed(service):
    signed = service.issue(_two_lines(repeats=2))
    for _ in range(3):
        service.dispense(signed.prescription.id, 1, CHEMIST, {1: 5})
    with pytest.raises(DispenseRefused, match="2 repeats"):
        service.dispense(signed.prescription.id, 1, CHEMIST, {1: 1})


@pytest.mark.parametrize("lines", [{}, {0: 0}, {0: -3}, {5: 1}, {0: 10}])
def test_a_bad_quantity_is_refused_and_records_nothing(service, lines):
    signed = service.issue(_two_lines())
    with pytest.raises(DispenseRefused):
        service.dispense(signed.prescription.id, 1, CHEMIST, lines)
    assert service.store.dispensations(signed.prescription.id) == []


def test_a_revoked_or_superseded_prescription_cannot_be_dispensed(service):
    signed = service.issue(_two_lines())
    service.correct(signed.prescription.id, "doc-1", advice="Rest")
    with pytest.raises(StoreError, match="superseded"):
        service.dispense(signed.prescription.id, 1, CHEMIST, {0: 9})
    service.revoke(signed.prescription.id, "doc-1", "Wrong patient")
    with pytest.raises(StoreError, match="revoked"):
        service.dispense(signed.prescription.id, 2, CHEMIST, {0: 9})


def test_a_quantity_is_required_to_sign_a_line():
    from rx.formulary import default_formulary
    from rx.rules import check
    [problem] = check(prescription(medicines=(medicine(quantity=0),)), default_formulary())
    assert problem.code == "quantity" and "quantity to dispense" in problem.message


def test_the_fhir_request_carries_the_quantity_and_repeats(service):
    signed = service.issue(_two_lines(repeats=1))
    requests = [e["resource"] for e in prescription_bundle(signed, b"%PDF", "https://vaidya.example")["entry"]
                if e["resource"]["resourceType"] == "MedicationRequest"]
    assert requests[0]["dispenseRequest"]["quantity"] == {"value": 9, "unit": "tablet"}
    assert requests[1]["dispenseRequest"]["numberOfRepeatsAllowed"] == 1


def test_the_pdf_line_shows_the_quantity_to_dispense(service):
    import io

    from pypdf import PdfReader

    from rx.pdf import render_pdf
    signed = service.issue(prescription(medicines=(medicine(quantity=9),),
                                        patient=prescription().patient.__class__(
                                            **{**prescription().patient.__dict__, "language": "en"})))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(signed, "https://v.example"))).pages)
    assert "Quantity: 9" in text


def test_a_schema_1_database_is_migrated_and_keeps_its_prescriptions_and_marks(tmp_path):
    path = tmp_path / "vaidya.db"
    shutil.copy(V1_DB, path)
    store = Store(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT MAX(version) FROM rx_schema_version").fetchone()[0] == SCHEMA_VERSION == 3
    signed = store.latest("7K3M-9QXD-4TBZ")
    assert signed.statement_version == 1  # signed before the statement covered the medicine lines
    assert [m.quantity for m in signed.prescription.medicines] == [0, 0]  # signed before quantities existed
    assert parse_canonical(signed.canonical) == signed.prescription
    assert verify_id("7K3M-9QXD-4TBZ", None, store).status is Status.VALID
    [old] = store.dispensations("7K3M-9QXD-4TBZ")
    assert old.dispensed_by == "M. Iyer, licence KA-RX-2231" and old.pharmacy == "" and old.lines == ()
    store.add_signature_image("doc-1", b"an image checked at upload", ISSUED)  # migration 3's table
    assert store.signature_image("doc-1", ISSUED) == b"an image checked at upload"
    Store(path)  # opening again is a no-op
    assert len(store.dispensations("7K3M-9QXD-4TBZ")) == 1


def test_a_line_signed_without_a_quantity_is_dispensed_once_only(tmp_path):
    from rx.service import RxService

    from .builders import SECRET
    path = tmp_path / "vaidya.db"
    shutil.copy(V1_DB, path)
    service = RxService(Store(path), SECRET, clock=lambda: ISSUED)
    service.dispense("AAAA-BBBB-CCCC", 1, CHEMIST, {0: 20})
    with pytest.raises(DispenseRefused, match="already dispensed"):
        service.dispense("AAAA-BBBB-CCCC", 1, CHEMIST, {0: 1})
    with pytest.raises(DispenseRefused, match="already dispensed"):  # its mark from before counts as a full fill
        service.dispense("7K3M-9QXD-4TBZ", 1, CHEMIST, {1: 5})


def test_dispensing_marks_stay_append_only(service, tmp_path):
    signed = service.issue(_two_lines())
    service.dispense(signed.prescription.id, 1, CHEMIST, {0: 9})
    db = sqlite3.connect(tmp_path / "vaidya.db")
    for sql in ("UPDATE rx_dispensed_lines SET quantity = 1", "DELETE FROM rx_dispensed_lines",
                "UPDATE rx_dispensations SET pharmacy = 'x'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)


# Over HTTP ---------------------------------------------------------------------------------------------------
async def _issued(visitor, clinic):
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp, body = await doctor.post_json(f"/rx/api/consultations/{clinic.video_consult}/prescriptions", {
        **FORM, "medicines": [MEDICINE, {**MEDICINE, "generic_name": "ORS", "strength": "21 g", "form": "sachet",
                                         "dose": "1 sachet in 1 litre", "frequency": "OD", "quantity": 3,
                                         "repeats": 1}]})
    assert resp.status == 201, body
    return doctor, body


async def test_an_anonymous_visitor_verifies_but_cannot_dispense(site):
    from rx.web import RX_SERVICE
    clinic, app, visitor = site
    _, issued = await _issued(visitor, clinic)
    stranger = await visitor()
    page = await (await stranger.get(URL(issued["verify_url"]).path_qs)).text()
    assert 'data-status="valid"' in page and 'action="/rx/verify/dispense"' not in page
    assert "/portal/staff/login" in page
    resp = await stranger.client.post("/rx/verify/dispense", allow_redirects=False, data={
        "csrf": stranger.csrf()["X-CSRF-Token"], "id": issued["id"], "version": "1", "q0": "9"})
    assert resp.status == 303 and resp.headers["Location"] == "/portal/staff/login"
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp = await doctor.client.post("/rx/verify/dispense", allow_redirects=False, data={
        "csrf": doctor.csrf()["X-CSRF-Token"], "id": issued["id"], "version": "1", "q0": "9"})
    assert resp.status == 303
    assert app[RX_SERVICE].store.dispensations(issued["id"]) == []


async def test_a_pharmacist_dispenses_and_the_page_shows_what_when_and_where(site):
    clinic, app, visitor = site
    _, issued = await _issued(visitor, clinic)
    chemist = await visitor("pharmacist", str(clinic.pharmacist))
    page = await (await chemist.get(f"/rx/verify?id={issued['id']}")).text()
    assert 'action="/rx/verify/dispense"' in page and 'name="q0"' in page and 'name="q1"' in page
    form = {"csrf": chemist.csrf()["X-CSRF-Token"], "id": issued["id"], "version": "1", "q0": "9", "q1": "3"}
    resp = await chemist.client.post("/rx/verify/dispense", allow_redirects=False, data=form)
    assert resp.status == 303
    resp = await chemist.client.post("/rx/verify/dispense", allow_redirects=False, data={**form, "q0": "", "q1": "3"})
    assert resp.status == 303  # the one repeat the doctor allowed
    resp = await chemist.client.post("/rx/verify/dispense", allow_redirects=False, data={**form, "q0": "1", "q1": ""})
    assert resp.status == 409 and "already dispensed" in await resp.text()
    anyone = await visitor()
    page = await (await anyone.get(f"/rx/verify?id={issued['id']}")).text()
    assert "Jan Aushadhi Kendra, Hosakote" in page and "M. Iyer" in page and "KSPC-22310" in page
    assert "PARACETAMOL 500 mg: 9 of 9" in page and "ORS 21 g: 6 of 6" in page
    data = await (await anyone.get(f"/rx/verify?id={issued['id']}", headers={"Accept": "application/json"})).json()
    assert [d["pharmacy"] for d in data["dispensed"]] == ["Jan Aushadhi Kendra, Hosakote"] * 2
    assert data["dispensed"][0]["lines"] == [{"line": 0, "quantity": 9}, {"line": 1, "quantity": 3}]
