"""ABDM FHIR export: bundles parse as FHIR R4 resources and meet the NRCeS profile constraints.

fhir.resources 8 models R5 by default; its R4B package (FHIR 4.3) is the closest to ABDM's R4 and is
identical for every resource and element used here.
"""

from __future__ import annotations

import base64

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from rx.fhir import IG, op_consult_bundle, prescription_bundle
from rx.pdf import render_pdf

from .builders import medicine, prescription

BASE = "https://vaidya.example.in"


@pytest.fixture
def signed(service):
    return service.issue(prescription(medicines=(
        medicine(), medicine("Cetirizine", strength="10 mg", frequency="SOS", duration_days=5, instructions=""))))


def _resources(bundle: dict) -> dict[str, dict]:
    return {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}


def _references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _check_document_bundle(bundle: dict) -> dict:
    Bundle.model_validate(bundle)
    assert bundle["type"] == "document"
    assert bundle["meta"]["profile"] == [IG + "DocumentBundle"]
    assert bundle["meta"]["versionId"] and bundle["timestamp"]
    assert bundle["identifier"]["system"].startswith("https://") and bundle["identifier"]["value"]
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    resources = _resources(bundle)
    assert all(url.startswith("urn:uuid:") for url in resources)
    refs = _references([e["resource"] for e in bundle["entry"]])
    assert refs and all(ref in resources for ref in refs), "every reference resolves inside the bundle"
    kinds = {r["resourceType"] for r in resources.values()}
    assert {"Patient", "Practitioner", "Organization", "Condition"} <= kinds
    return resources


def test_the_prescription_bundle_follows_the_prescription_record_profile(signed):
    pdf = render_pdf(signed, BASE)
    bundle = prescription_bundle(signed, pdf, BASE)
    resources = _check_document_bundle(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["meta"]["profile"] == [IG + "PrescriptionRecord"]
    assert composition["type"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "440545006",
                                                "display": "Prescription record"}
    assert composition["title"] == "Prescription record"
    assert resources[composition["subject"]["reference"]]["resourceType"] == "Patient"
    assert resources[composition["author"][0]["reference"]]["resourceType"] == "Practitioner"
    [section] = composition["section"]
    assert section["code"]["coding"][0]["code"] == "440545006"
    kinds = [resources[e["reference"]]["resourceType"] for e in section["entry"]]
    assert set(kinds) <= {"MedicationRequest", "Binary"} and kinds.count("Binary") == 1
    assert kinds.count("MedicationRequest") == 2
    [binary] = [resources[e["reference"]] for e in section["entry"] if resources[e["reference"]]["resourceType"] == "Binary"]
    assert binary["contentType"] == "application/pdf" and base64.b64decode(binary["data"]) == pdf


def test_medication_requests_carry_what_the_profile_requires(signed):
    bundle = prescription_bundle(signed, b"%PDF-", BASE)
    requests = [r for r in _resources(bundle).values() if r["resourceType"] == "MedicationRequest"]
    paracetamol, cetirizine = requests
    for request in requests:
        assert request["status"] == "active" and request["intent"] == "order"
        assert request["authoredOn"] and request["requester"]["reference"].startswith("urn:uuid:")
        assert request["reasonReference"][0]["reference"] in _resources(bundle)
        assert request["dosageInstruction"][0]["text"]
    assert paracetamol["medicationCodeableConcept"]["text"].startswith("PARACETAMOL 500 mg")
    dosage = paracetamol["dosageInstruction"][0]
    repeat = dosage["timing"]["repeat"]
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (3, 1, "d")
    assert repeat["boundsDuration"]["value"] == 3
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["additionalInstruction"][0]["coding"][0]["code"] == "311504000"
    assert cetirizine["dosageInstruction"][0]["asNeededBoolean"] is True


def test_identifiers_use_the_documented_types(signed):
    resources = _resources(prescription_bundle(signed, b"%PDF-", BASE))
    by_kind = {r["resourceType"]: r for r in resources.values()}
    assert by_kind["Patient"]["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    practitioner = by_kind["Practitioner"]["identifier"][0]
    assert practitioner["type"]["coding"][0]["code"] == "MD" and practitioner["value"] == "KMC-48213"
    assert practitioner["assigner"]["display"] == "Karnataka Medical Council"
    assert by_kind["Organization"]["identifier"][0]["type"]["coding"][0]["code"] == "PRN"
    condition = by_kind["Condition"]
    assert condition["code"]["text"] == "Acute viral fever"
    assert condition["verificationStatus"]["coding"][0]["code"] == "provisional"


def test_the_consultation_exports_as_an_op_consult_record_with_its_encounter(signed):
    bundle = op_consult_bundle(signed, BASE)
    resources = _check_document_bundle(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["meta"]["profile"] == [IG + "OPConsultRecord"]
    assert composition["type"]["coding"][0]["code"] == "371530004"
    assert resources[composition["encounter"]["reference"]]["resourceType"] == "Encounter"
    codes = [s["code"]["coding"][0]["code"] for s in composition["section"]]
    assert codes == ["422843007", "425044008", "721912009", "721963009", "390906007"]
    for section in composition["section"]:
        assert "text" in section or "entry" in section


def test_exporting_twice_gives_the_same_bundle(signed):
    assert prescription_bundle(signed, b"%PDF-", BASE) == prescription_bundle(signed, b"%PDF-", BASE)


def test_the_validator_is_live_and_rejects_a_broken_bundle(signed):
    bundle = prescription_bundle(signed, b"%PDF-", BASE)
    bundle["entry"][1]["resource"]["birthDate"] = "last monsoon"
    with pytest.raises(ValidationError):
        Bundle.model_validate(bundle)
    bundle = prescription_bundle(signed, b"%PDF-", BASE)
    del bundle["entry"][-1]["resource"]["contentType"]  # Binary.contentType is 1..1
    with pytest.raises(ValidationError):
        Bundle.model_validate(bundle)
