"""ABDM FHIR R4 export (NRCeS IG 6.5.0): a PrescriptionRecord and an OPConsultRecord document bundle.

Plain dicts, no FHIR library at run time (tests validate them with fhir.resources). Resource IDs are
UUIDv5 of the prescription ID, version and role, so exporting twice gives the same bundle. Identifier
systems are described in docs/rx.md.
"""

from __future__ import annotations

import base64
import html
import uuid
from datetime import date, datetime, tzinfo
from typing import Any

from .localtime import DEFAULT_ZONE
from .dosage import AFTER_FOOD, FREQUENCIES, ROUTES
from .model import Medicine, Prescription, Sex, Signed

IG = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_NAMESPACE = uuid.UUID("6f0c54c2-62b5-4d5e-9a3c-7f4f0b7a2a11")

PRESCRIPTION_RECORD = ("440545006", "Prescription record")
OP_CONSULT_RECORD = ("371530004", "Clinical consultation report")
SECTION_CODES = {
    "complaints": ("422843007", "Chief complaint section"),
    "examination": ("425044008", "Physical exam section"),
    "medications": ("721912009", "Medication summary document"),
    "investigations": ("721963009", "Order document"),
    "follow_up": ("390906007", "Follow-up encounter"),
}


def identifier_systems(base_url: str) -> dict[str, str]:
    """Our own identifier namespaces, under the service's public URL (see docs/rx.md)."""
    root = base_url.rstrip("/") + "/fhir/sid"
    return {"prescription": f"{root}/prescription", "patient": f"{root}/patient",
            "registration": f"{root}/council-registration", "facility": f"{root}/facility",
            "consultation": f"{root}/consultation"}


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _ident(type_code: str, type_display: str, system: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"type": _coding(V2_0203, type_code, type_display), "system": system, "value": value, **extra}


def _narrative(text: str) -> dict[str, str]:
    body = "<br/>".join(html.escape(line) for line in text.splitlines() or [""])
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _instant(moment: datetime, zone: tzinfo) -> str:
    """An instant at the clinic's offset (2026-11-27T00:30:00+05:30): the same moment as the UTC one
    stored, but a reader of the bundle sees the clinic's date."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def _dispense_request(m: Medicine) -> dict[str, Any]:
    """How much to dispense (units of the form) and the repeats allowed; absent in lines signed before."""
    if not m.quantity:
        return {}
    request: dict[str, Any] = {"quantity": {"value": m.quantity, "unit": m.form}}
    if m.repeats:
        request["numberOfRepeatsAllowed"] = m.repeats
    return {"dispenseRequest": request}


class _Builder:
    """Collects entries with stable urn:uuid references for one prescription version."""

    def __init__(self, signed: Signed, base_url: str, zone: tzinfo) -> None:
        self.signed = signed
        self.zone = zone
        self.rx: Prescription = signed.prescription
        self.systems = identifier_systems(base_url)
        self.entries: list[dict[str, Any]] = []

    def uid(self, role: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.rx.id}/{self.rx.version}/{role}"))

    def ref(self, role: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{self.uid(role)}"}

    def add(self, role: str, resource: dict[str, Any], profile: str | None = None) -> dict[str, str]:
        resource = {"id": self.uid(role), **resource}
        if profile:
            resource["meta"] = {"profile": [IG + profile]}
        self.entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
        return self.ref(role)

    def parties(self) -> None:
        rx, p, d = self.rx, self.rx.patient, self.rx.doctor
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [_ident("MR", "Medical record number", self.systems["patient"], p.id)],
            "name": [{"text": p.name}],
            "gender": {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other"}[p.sex],
        }
        if p.phone:
            patient["telecom"] = [{"system": "phone", "value": p.phone}]
        self.add("patient", patient, "Patient")
        self.add("practitioner", {
            "resourceType": "Practitioner",
            "identifier": [_ident("MD", "Medical License number", self.systems["registration"], d.registration_number,
                                  assigner={"display": d.council})],
            "name": [{"text": d.name}],
            "qualification": [{"code": {"text": d.qualification}}],
            **({"telecom": [{"system": "phone", "value": d.contact}]} if d.contact else {}),
        }, "Practitioner")
        facility = d.facility or "Vaidya teleconsultation"
        self.add("organization", {
            "resourceType": "Organization",
            "identifier": [_ident("PRN", "Provider number", self.systems["facility"], facility.lower().replace(" ", "-"))],
            "name": facility,
        }, "Organization")
        self.add("condition", {
            "resourceType": "Condition",
            "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": _coding(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                *(("provisional", "Provisional") if rx.provisional else ("confirmed", "Confirmed"))),
            "code": {"text": rx.diagnosis},
            "subject": self.ref("patient"),
            "recordedDate": _instant(rx.issued_at, self.zone),
        }, "Condition")

    def medication_requests(self, status: str) -> list[dict[str, str]]:
        refs = []
        for n, m in enumerate(self.rx.medicines):
            freq = FREQUENCIES.get(m.frequency)
            timing: dict[str, Any] = {"boundsDuration": {"value": m.duration_days, "unit": "days",
                                                         "system": "http://unitsofmeasure.org", "code": "d"}}
            if freq and freq.frequency:
                timing["frequency"] = freq.frequency
                if freq.period:
                    timing.update(period=freq.period, periodUnit=freq.period_unit)
            dosage: dict[str, Any] = {
                "text": f"{m.dose} {freq.english if freq else m.frequency} for {m.duration_days} days"
                        + (f"; {m.instructions}" if m.instructions else ""),
                "timing": {"repeat": timing},
                "route": _coding(SNOMED, *ROUTES[m.route]) if m.route in ROUTES else {"text": m.route},
            }
            if freq and freq.as_needed:
                dosage["asNeededBoolean"] = True
            if "after food" in m.instructions.lower():
                dosage["additionalInstruction"] = [_coding(SNOMED, *AFTER_FOOD)]
            refs.append(self.add(f"medication-{n}", {
                "resourceType": "MedicationRequest",
                "status": status,
                "intent": "order",
                "medicationCodeableConcept": {"text": f"{m.generic_name.upper()} {m.strength} {m.form}"},
                "subject": self.ref("patient"),
                "authoredOn": _instant(self.rx.issued_at, self.zone),
                "requester": self.ref("practitioner"),
                "reasonReference": [self.ref("condition")],
                "dosageInstruction": [dosage],
                **_dispense_request(m),
            }, "MedicationRequest"))
        return refs

    def bundle(self, composition: dict[str, Any]) -> dict[str, Any]:
        self.entries.insert(0, {"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition})
        return {
            "resourceType": "Bundle",
            "id": self.uid(f"bundle-{composition['type']['coding'][0]['code']}"),
            "meta": {"versionId": str(self.rx.version), "lastUpdated": _instant(self.signed.signed_at, self.zone),
                     "profile": [IG + "DocumentBundle"]},
            "identifier": {"system": self.systems["prescription"], "value": f"{self.rx.id}/v{self.rx.version}"},
            "type": "document",
            "timestamp": _instant(self.signed.signed_at, self.zone),
            "entry": self.entries,
        }

    def composition(self, role: str, profile: str, code: tuple[str, str], sections: list[dict[str, Any]],
                    **extra: Any) -> dict[str, Any]:
        return {
            "resourceType": "Composition",
            "id": self.uid(role),
            "meta": {"profile": [IG + profile]},
            "identifier": {"system": self.systems["prescription"], "value": f"{self.rx.id}/v{self.rx.version}"},
            "language": self.rx.patient.language,
            "status": "final",
            "type": _coding(SNOMED, *code),
            "subject": self.ref("patient"),
            "date": _instant(self.rx.issued_at, self.zone),
            "author": [{**self.ref("practitioner"), "display": self.rx.doctor.name}],
            "title": code[1],
            "custodian": self.ref("organization"),
            "section": sections,
            **extra,
        }


def medication_status(superseded: bool, revoked: bool) -> str:
    return "cancelled" if revoked or superseded else "active"


def prescription_bundle(signed: Signed, pdf: bytes, base_url: str, status: str = "active",
                        zone: tzinfo = DEFAULT_ZONE) -> dict[str, Any]:
    """DocumentBundle with a PrescriptionRecord: one section holding the MedicationRequests and the PDF."""
    b = _Builder(signed, base_url, zone)
    b.parties()
    entries = b.medication_requests(status)
    entries.append(b.add("binary", {"resourceType": "Binary", "contentType": "application/pdf",
                                    "data": base64.b64encode(pdf).decode("ascii")}, "Binary"))
    section = {"title": PRESCRIPTION_RECORD[1], "code": _coding(SNOMED, *PRESCRIPTION_RECORD), "entry": entries}
    composition = b.composition("composition-rx", "PrescriptionRecord", PRESCRIPTION_RECORD, [section])
    composition["title"] = "Prescription record"
    return b.bundle(composition)


def op_consult_bundle(signed: Signed, base_url: str, status: str = "active",
                      zone: tzinfo = DEFAULT_ZONE) -> dict[str, Any]:
    """DocumentBundle with an OPConsultRecord for the consultation the prescription came from."""
    b = _Builder(signed, base_url, zone)
    rx = b.rx
    b.parties()
    c = rx.consultation
    encounter = b.add("encounter", {
        "resourceType": "Encounter",
        "identifier": [{"system": b.systems["consultation"], "value": c.id}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"},
        "type": [{"text": f"Teleconsultation by {c.mode.value}, {c.visit.value.replace('_', '-')}"}],
        "subject": b.ref("patient"),
        "period": {"start": _instant(c.started_at or rx.issued_at, b.zone)},
        "reasonReference": [b.ref("condition")],
    }, "Encounter")
    sections: list[dict[str, Any]] = []

    def section(key: str, text: str = "", entries: list[dict[str, str]] | None = None) -> None:
        code, display = SECTION_CODES[key]
        item: dict[str, Any] = {"title": display, "code": _coding(SNOMED, code, display)}
        if text.strip():
            item["text"] = _narrative(text)
        if entries:
            item["entry"] = entries
        if "text" in item or "entry" in item:
            sections.append(item)

    section("complaints", rx.chief_complaints, [b.ref("condition")])
    section("examination", "\n".join(x for x in (rx.history, rx.findings) if x.strip()))
    section("medications", "", b.medication_requests(status))
    if rx.investigations.strip():
        section("investigations", rx.investigations, [b.add("investigations", {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"text": rx.investigations}, "subject": b.ref("patient"), "requester": b.ref("practitioner"),
            "authoredOn": _instant(rx.issued_at, b.zone),
        }, "ServiceRequest")])
    if rx.follow_up:
        section("follow_up", f"Follow-up on {_day(rx.follow_up)}", [b.add("follow-up", {
            "resourceType": "Appointment", "status": "proposed",
            "description": rx.advice or "Follow-up consultation",
            "requestedPeriod": [{"start": _day(rx.follow_up)}],
            "participant": [{"actor": b.ref("patient"), "status": "needs-action"},
                            {"actor": b.ref("practitioner"), "status": "needs-action"}],
        }, "Appointment")])
    composition = b.composition("composition-op", "OPConsultRecord", OP_CONSULT_RECORD, sections, encounter=encounter)
    return b.bundle(composition)


def _day(value: date) -> str:
    return value.isoformat()
