"""Formulary suggestions as the doctor types: brands and prefixes find the drug, each suggestion carries
its TPG list and whether this consultation may prescribe it, with the same reason signing would give."""

from __future__ import annotations

import dataclasses

import pytest

from rx.formulary import default_formulary, search
from rx.model import Consultation, Initiator, Mode, Visit
from rx.suggest import suggestions

from .web_harness import FORM, MEDICINE

FIRST_VIDEO = Consultation(id="1", mode=Mode.VIDEO, visit=Visit.FIRST, started_by=Initiator.PATIENT)


def _names(typed: str) -> list[str]:
    return [m.drug.generic_name for m in search(default_formulary(), typed)]


@pytest.mark.parametrize("typed, expected, matched", [
    ("Dolo", "Paracetamol", "Dolo"),           # a brand
    ("dolo 650", None, None),                   # a strength is not part of a name: nothing, not a wrong drug
    ("PCM", "Paracetamol", "PCM"),             # an abbreviation
    ("paracet", "Paracetamol", "Paracetamol"),  # a prefix
    ("  AZITHRO ", "Azithromycin", "Azithromycin"),
])
def test_a_brand_an_abbreviation_or_a_prefix_finds_the_drug(typed, expected, matched):
    found = search(default_formulary(), typed)
    if expected is None:
        assert found == []
        return
    assert found[0].drug.generic_name == expected and found[0].matched == matched, found[:3]


def test_the_whole_name_comes_before_longer_names_that_start_with_it():
    names = _names("amoxicillin")
    assert names[0] == "Amoxicillin" and any("clavul" in n.lower() for n in names[1:]), names
    assert _names("") == [] and _names("+++") == []


def _consult(**changes) -> Consultation:
    return dataclasses.replace(FIRST_VIDEO, **changes)


def test_each_suggestion_says_whether_this_consultation_may_prescribe_it_and_why_not():
    formulary = default_formulary()
    [azi] = [s for s in suggestions(formulary, _consult(mode=Mode.AUDIO), "azithromycin") if s["generic_name"] == "Azithromycin"]
    assert azi["list"] == "A" and not azi["allowed"]
    assert azi["reason"].startswith("a first consultation must be by video")
    [azi] = [s for s in suggestions(formulary, FIRST_VIDEO, "azithromycin") if s["generic_name"] == "Azithromycin"]
    assert azi["allowed"] and azi["reason"] is None
    follow_audio = _consult(mode=Mode.AUDIO, visit=Visit.FOLLOW_UP)
    [azi] = [s for s in suggestions(formulary, follow_audio, "azithromycin") if s["generic_name"] == "Azithromycin"]
    assert azi["allowed"] and "refill" in azi["reason"]
    para = suggestions(formulary, _consult(mode=Mode.TEXT), "crocin")[0]
    assert para["generic_name"] == "Paracetamol" and para["list"] == "O" and para["allowed"]


@pytest.mark.parametrize("typed", ["Alprazolam", "alprazolm", "Restyl", "Morphine", "Ultracet", "tramadol 50mg"])
def test_a_controlled_substance_is_refused_as_typed_before_the_line_is_filled(typed):
    first = suggestions(default_formulary(), FIRST_VIDEO, typed)
    assert first and first[0]["list"] == "prohibited" and not first[0]["allowed"], first
    assert "prohibited in teleconsultation" in first[0]["reason"]


async def test_the_form_asks_the_server_and_only_the_consultations_doctor_gets_an_answer(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    path = f"/rx/api/consultations/{clinic.audio_consult}/formulary"
    resp = await doctor.client.get(path, params={"q": "azithro"})
    body = await resp.json()
    assert resp.status == 200 and body["allowed_lists"].startswith("O")
    azi = next(s for s in body["drugs"] if s["generic_name"] == "Azithromycin")
    assert not azi["allowed"] and "must be by video" in azi["reason"]
    # what the form says now is what signing says later
    form = {**FORM, "medicines": [{**MEDICINE, "generic_name": "Azithromycin", "strength": "500 mg", "frequency": "OD"}]}
    _, refused = await doctor.post_json(f"/rx/api/consultations/{clinic.audio_consult}/prescriptions", form)
    assert azi["reason"] in refused["problems"][0]["message"]

    resp = await doctor.client.get(path, params={"q": "x" * 81})
    assert resp.status == 400 and (await resp.json())["error"]
    other = await visitor("doctor", str(clinic.doctor_b))
    assert (await other.client.get(path, params={"q": "azi"}, headers={"Accept": "application/json"})).status == 404
    patient = await visitor("patient", "9800000001")
    assert (await patient.client.get(path, params={"q": "azi"}, headers={"Accept": "application/json"})).status == 401


def test_each_suggestion_carries_its_strengths_and_forms_and_a_controlled_one_none():
    para = suggestions(default_formulary(), FIRST_VIDEO, "Dolo")[0]
    assert para["generic_name"] == "Paracetamol"
    assert {"strength": "650 mg", "form": "tablet"} in para["presentations"]
    assert {"strength": "250 mg/5 mL", "form": "suspension"} in para["presentations"]
    assert suggestions(default_formulary(), FIRST_VIDEO, "Restyl")[0]["presentations"] == []


async def test_the_formulary_api_answers_dolo_with_paracetamols_650_mg_tablet(site):
    clinic, app, visitor = site
    doctor = await visitor("doctor", str(clinic.doctor_a))
    resp = await doctor.client.get(f"/rx/api/consultations/{clinic.audio_consult}/formulary", params={"q": "Dolo"})
    para = next(s for s in (await resp.json())["drugs"] if s["generic_name"] == "Paracetamol")
    assert resp.status == 200 and para["matched"] == "Dolo"
    assert {"strength": "650 mg", "form": "tablet"} in para["presentations"]
