"""TPG 2020 rules at signing: every cell of the mode × visit × list matrix, and the required fields."""

from __future__ import annotations

import itertools

import pytest

from rx.formulary import TpgList, default_formulary
from rx.model import Initiator, Mode, Visit
from rx.rules import allowed_lists, check

from .builders import consent, consultation, medicine, patient, prescription, doctor

#: One formulary drug per list.
DRUG = {TpgList.O: "Paracetamol", TpgList.A: "Azithromycin", TpgList.B: "Hydrochlorothiazide",
        TpgList.PROHIBITED: "Alprazolam"}
#: A List B drug is an add-on to the treatment started in person (builders.IN_PERSON: atenolol).
ADD_ON_TO = {TpgList.O: "", TpgList.A: "", TpgList.B: "Atenolol", TpgList.PROHIBITED: ""}


def expected_allowed(mode: Mode, visit: Visit, prior_in_person: bool, refill: bool, tag: TpgList) -> bool:
    """The matrix written out as the guideline states it, independently of rx.rules."""
    if tag is TpgList.PROHIBITED:
        return False
    if tag is TpgList.O:
        return True
    if tag is TpgList.A:
        if visit is Visit.FIRST:
            return mode is Mode.VIDEO
        return mode is Mode.VIDEO or refill  # a follow-up: refills, or anything seen on video
    return visit is Visit.FOLLOW_UP and prior_in_person


CELLS = list(itertools.product(Mode, Visit, (False, True), (False, True), TpgList))


@pytest.mark.parametrize(
    ("mode", "visit", "prior", "refill", "tag"), CELLS,
    ids=[f"{m}-{v}-{'inperson' if p else 'remote'}-{'refill' if r else 'new'}-{t}" for m, v, p, r, t in CELLS])
def test_each_cell_of_the_tpg_matrix_allows_or_refuses_the_drug(mode, visit, prior, refill, tag):
    rx = prescription(consultation=consultation(mode=mode, visit=visit, prior_in_person=prior),
                      medicines=(medicine(DRUG[tag], refill=refill, frequency="OD", add_on_to=ADD_ON_TO[tag]),))
    problems = check(rx, default_formulary())
    assert (problems == []) is expected_allowed(mode, visit, prior, refill, tag), problems


@pytest.mark.parametrize(("mode", "visit", "prior", "lists"), [
    (Mode.VIDEO, Visit.FIRST, False, {TpgList.O, TpgList.A}),
    (Mode.AUDIO, Visit.FIRST, True, {TpgList.O}),
    (Mode.TEXT, Visit.FOLLOW_UP, False, {TpgList.O, TpgList.A}),
    (Mode.AUDIO, Visit.FOLLOW_UP, True, {TpgList.O, TpgList.A, TpgList.B}),
])
def test_the_lists_open_to_a_consultation_follow_the_matrix(mode, visit, prior, lists):
    assert allowed_lists(consultation(mode=mode, visit=visit, prior_in_person=prior)) == lists


def test_a_new_list_a_drug_at_a_follow_up_by_text_must_be_a_refill():
    rx = prescription(consultation=consultation(mode=Mode.TEXT, visit=Visit.FOLLOW_UP),
                      medicines=(medicine("Metformin"),))
    [problem] = check(rx, default_formulary())
    assert problem.message == ("Metformin is on List A: at a follow-up by text it can only be a refill of a "
                               "medicine the patient already takes: mark it as a refill, or see the patient by video.")


def test_a_list_a_drug_at_a_first_audio_consultation_is_explained_in_the_doctors_words():
    rx = prescription(consultation=consultation(mode=Mode.AUDIO), medicines=(medicine("azithromycin", frequency="OD"),))
    [problem] = check(rx, default_formulary())
    assert problem.message.startswith("Azithromycin is on List A: a first consultation must be by video")


def test_a_prohibited_drug_is_refused_even_at_an_in_person_follow_up():
    rx = prescription(consultation=consultation(visit=Visit.FOLLOW_UP, prior_in_person=True),
                      medicines=(medicine("Tramadol"),))
    [problem] = check(rx, default_formulary())
    assert problem.code == "prohibited" and "never be prescribed by telemedicine" in problem.message


def test_a_prohibited_drug_written_as_free_text_is_still_recognised_and_refused():
    rx = prescription(consultation=consultation(visit=Visit.FOLLOW_UP, prior_in_person=True),
                      medicines=(medicine("alprazolam 0.25 SR", free_text=True, free_text_confirmed=True),))
    assert [p.code for p in check(rx, default_formulary())] == ["prohibited"]


def test_an_unknown_drug_needs_the_doctors_confirmation_as_free_text():
    rx = prescription(consultation=consultation(visit=Visit.FOLLOW_UP, prior_in_person=True),
                      medicines=(medicine("Zyloflamin"),))
    assert [p.code for p in check(rx, default_formulary())] == ["not_in_formulary"]
    rx = prescription(consultation=consultation(visit=Visit.FOLLOW_UP, prior_in_person=True),
                      medicines=(medicine("Zyloflamin", free_text=True),))
    assert [p.code for p in check(rx, default_formulary())] == ["free_text_unconfirmed"]


@pytest.mark.parametrize(("mode", "visit", "prior"), [
    (Mode.VIDEO, Visit.FIRST, False), (Mode.AUDIO, Visit.FIRST, False), (Mode.TEXT, Visit.FIRST, True),
    (Mode.VIDEO, Visit.FOLLOW_UP, False),
])
def test_a_confirmed_free_text_drug_is_treated_as_list_b_never_as_list_o(mode, visit, prior):
    rx = prescription(consultation=consultation(mode=mode, visit=visit, prior_in_person=prior),
                      medicines=(medicine("Zyloflamin", free_text=True, free_text_confirmed=True),))
    [problem] = check(rx, default_formulary())
    assert problem.code == "list_b_not_allowed"
    assert "not in the formulary, so it is treated as List B" in problem.message


def test_a_confirmed_free_text_drug_is_allowed_at_a_follow_up_after_an_in_person_start():
    rx = prescription(consultation=consultation(visit=Visit.FOLLOW_UP, prior_in_person=True),
                      medicines=(medicine("Zyloflamin", free_text=True, free_text_confirmed=True,
                                          add_on_to="Atenolol"),))
    assert check(rx, default_formulary()) == []


def test_a_missing_diagnosis_is_refused():
    problems = check(prescription(diagnosis="  "), default_formulary())
    assert [p.code for p in problems] == ["diagnosis"]
    assert "diagnosis or provisional diagnosis" in problems[0].message


def test_a_missing_registration_number_is_refused():
    problems = check(prescription(doctor=doctor(registration_number="")), default_formulary())
    assert [p.code for p in problems] == ["registration"]


@pytest.mark.parametrize("changes", [{"age_years": None}, {"age_confirmed": False}])
def test_an_unconfirmed_age_is_refused(changes):
    assert [p.code for p in check(prescription(patient=patient(**changes)), default_formulary())] == ["age"]


def test_a_minor_needs_an_identified_adult():
    assert [p.code for p in check(prescription(patient=patient(age_years=9)), default_formulary())] == ["minor_adult"]
    ok = prescription(patient=patient(age_years=9, accompanying_adult="Ramesh Kumar (father)"))
    assert check(ok, default_formulary()) == []


@pytest.mark.parametrize("initiator", [Initiator.DOCTOR, Initiator.HEALTH_WORKER, Initiator.CAREGIVER])
def test_consent_is_required_when_someone_other_than_the_patient_started_the_consultation(initiator):
    rx = prescription(consultation=consultation(started_by=initiator))
    problems = check(rx, default_formulary())
    assert [p.code for p in problems] == ["consent"]
    assert initiator.value.replace("_", " ") in problems[0].message
    assert check(prescription(consultation=consultation(started_by=initiator, consent=consent())),
                 default_formulary()) == []


def test_consent_is_implied_when_the_patient_started_the_consultation():
    assert check(prescription(consultation=consultation(started_by=Initiator.PATIENT)), default_formulary()) == []


def test_every_problem_is_reported_at_once():
    rx = prescription(diagnosis="", doctor=doctor(registration_number=""), patient=patient(age_confirmed=False),
                      consultation=consultation(started_by=Initiator.HEALTH_WORKER, mode=Mode.TEXT),
                      medicines=(medicine("Amoxicillin"),))
    codes = {p.code for p in check(rx, default_formulary())}
    assert codes == {"diagnosis", "registration", "age", "consent", "list_a_not_allowed"}


def test_an_incomplete_medicine_line_is_refused():
    rx = prescription(medicines=(medicine(strength="", frequency="THRICE", duration_days=0),))
    assert {p.code for p in check(rx, default_formulary())} == {"medicine_incomplete", "frequency", "duration"}


def test_the_form_describes_the_open_lists_in_words():
    from rx.rules import describe_allowed
    assert describe_allowed(consultation(mode=Mode.AUDIO, visit=Visit.FOLLOW_UP, prior_in_person=True)) == (
        "O, A (refills only), B — follow-up of consultation 41 (video, 20-10-2026); add-ons to the in-person "
        "consultation of 12-09-2026 at District Hospital, Tumakuru (Atenolol 50 mg OD)")
    assert describe_allowed(consultation(mode=Mode.AUDIO)) == "O"
