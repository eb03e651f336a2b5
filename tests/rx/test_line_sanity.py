"""Line sanity: route consistent with the form, maximum daily doses, weight-based limits for children,
duplicate lines, methotrexate weekly only. Each refused or warned with a reason the doctor can act on."""

from __future__ import annotations

import dataclasses

import pytest

from rx.dose_limits import doses_per_day, mg_per_dose
from rx.formulary import default_formulary
from rx.model import Mode, Visit
from rx.rules import check

from .builders import consultation, medicine, patient, prescription

OPEN = consultation(mode=Mode.VIDEO, visit=Visit.FOLLOW_UP, prior_in_person=True)


def problems(*lines, **changes):
    # OPEN allows List B: each line is written as an add-on to the in-person treatment (rx/followup.py)
    lines = tuple(dataclasses.replace(line, add_on_to=line.add_on_to or "Atenolol") for line in lines)
    return check(prescription(consultation=OPEN, medicines=lines, **changes), default_formulary())


def codes(*lines, **changes) -> list[str]:
    return [p.code for p in problems(*lines, **changes)]


# Route and form ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "form", "route"), [
    ("Clotrimazole cream", "cream", "oral"), ("Salbutamol", "tablet", "inhalation"),
    ("Ciprofloxacin eye drops", "eye drops", "otic"), ("Mupirocin ointment", "ointment", "oral"),
    ("Paracetamol", "syrup", "topical"), ("Budesonide inhaler", "inhaler", "oral"),
])
def test_a_route_the_form_cannot_take_is_refused(name, form, route):
    found = problems(medicine(name, form=form, route=route))
    assert [p.code for p in found] == ["route_form"], found
    assert form in found[0].message and route in found[0].message


@pytest.mark.parametrize(("name", "form", "route"), [
    ("Clotrimazole cream", "cream", "topical"), ("Clotrimazole cream", "vaginal cream", "vaginal"),
    ("Salbutamol", "rotacap", "inhalation"), ("Salbutamol", "tablet", "oral"), ("Paracetamol", "syrup", "oral"),
    ("Ciprofloxacin eye drops", "eye drops", "ophthalmic"), ("Paracetamol", "suppository", "rectal"),
    ("Budesonide inhaler", "MDI", "inhalation"), ("Chlorhexidine mouthwash", "mouthwash", "oral"),
    ("Chlorhexidine mouthwash", "mouth ulcer gel", "oral"), ("Clotrimazole ear drops", "eardrops", "otic"),
])
def test_routes_the_form_can_take_pass(name, form, route):
    assert codes(medicine(name, form=form, route=route, strength="100 mcg", dose="1 puff")) == []


# Form is part of the identity where the list differs --------------------------------------------------------
def test_salbutamol_tablets_and_the_salbutamol_inhaler_are_different_formulary_drugs():
    f = default_formulary()
    inhaler, tablet = f.lookup("salbutamol", form="inhaler"), f.lookup("salbutamol", form="tablet")
    assert inhaler is not None and tablet is not None and inhaler is not tablet
    assert f.lookup("Asthalin", form="MDI") is inhaler and f.lookup("Asthalin", form="syrup") is tablet
    assert f.lookup("diclofenac", form="gel").tpg_list.value == "O"
    assert f.lookup("diclofenac", form="tablet").tpg_list.value == "A"


def test_a_form_specific_name_written_with_another_form_is_refused():
    found = problems(medicine("Salbutamol inhaler", form="tablet", route="oral", strength="4 mg"))
    assert [p.code for p in found] == ["form_mismatch"], found


def test_without_a_readable_form_an_ambiguous_name_is_judged_by_its_most_restrictive_list():
    f = default_formulary()
    assert f.lookup("diclofenac").tpg_list.value == "A"


# Maximum daily dose ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("strength", "dose", "frequency", "mg"), [
    ("500 mg", "1 tablet", "TDS", 1500), ("650mg", "2 tabs", "QID", 5200), ("250 mg/5 ml", "10 ml", "TDS", 1500),
    ("120mg/5ml", "7.5 ml", "Q6H", 720), ("1 g", "1 tablet", "BD", 2000), ("500 mg", "1/2 tablet", "BD", 500),
    ("500 mg", "½ tab", "OD", 250), ("500 mg", "650 mg", "OD", 650),
])
def test_the_daily_amount_is_strength_times_dose_times_frequency(strength, dose, frequency, mg):
    assert mg_per_dose(strength, dose) * doses_per_day(frequency) == pytest.approx(mg)


def test_unreadable_amounts_are_none_not_guesses():
    assert mg_per_dose("500 mg + 125 mg", "1 tablet") is None
    assert mg_per_dose("250 mg/5 ml", "1 tablet") is None
    assert doses_per_day("SOS") is None


@pytest.mark.parametrize(("name", "strength", "dose", "frequency"), [
    ("Paracetamol", "650 mg", "2 tablets", "QID"),     # 5.2 g a day
    ("Paracetamol", "1 g", "1 tablet", "Q6H"),          # fine per dose (1 g), but
    ("Ibuprofen", "800 mg", "1 tablet", "QID"),         # 3.2 g is the maximum: 3.2 g passes, so
    ("Diclofenac", "100 mg", "1 tablet", "BD"),         # 200 mg > 150 mg
    ("Domperidone", "10 mg", "1 tablet", "QID"),        # 40 mg > 30 mg (EMA 2014)
])
def test_a_daily_dose_above_the_maximum_is_refused_with_the_figures(name, strength, dose, frequency):
    line = medicine(name, strength=strength, dose=dose, frequency=frequency)
    found = [p for p in problems(line) if p.code == "max_daily_dose"]
    if (name, strength, frequency) in {("Paracetamol", "1 g", "Q6H"), ("Ibuprofen", "800 mg", "QID")}:
        assert found == []  # exactly at the maximum
        return
    assert len(found) == 1 and "mg a day" in found[0].message and "maximum" in found[0].message


def test_ibuprofen_above_the_usual_2_4_g_needs_acknowledgement_and_above_3_2_g_is_refused():
    line = medicine("Ibuprofen", strength="600 mg", dose="1 tablet", frequency="QID")  # 2.4 g
    assert codes(line) == []
    line = medicine("Ibuprofen", strength="800 mg", dose="1 tablet", frequency="QID")  # 3.2 g
    assert codes(line) == ["warning"]
    assert codes(medicine("Ibuprofen", strength="800 mg", dose="1 tablet", frequency="QID",
                          warning_acknowledged=True)) == []
    assert codes(medicine("Ibuprofen", strength="400 mg", dose="3 tablets", frequency="QID")) == \
        ["max_dose", "max_daily_dose"]  # 1.2 g a dose (at most 800 mg), 4.8 g a day


# Children: weight required, mg/kg limits -----------------------------------------------------------------------
CHILD = dict(age_years=4, accompanying_adult="Ramesh Kumar (father)")


def test_a_weight_based_drug_for_a_minor_needs_the_weight():
    found = problems(medicine("Paracetamol", strength="120 mg/5 ml", form="syrup", dose="5 ml"),
                     patient=patient(weight_kg="", **CHILD))
    assert [p.code for p in found] == ["weight_required"]
    assert "weight" in found[0].message and "Paracetamol" in found[0].message


def test_paracetamol_for_a_child_is_limited_to_15_mg_per_kg_a_dose_and_60_mg_per_kg_a_day():
    ok = medicine("Paracetamol", strength="250 mg/5 ml", form="syrup", dose="5 ml", frequency="QID")  # 250 mg
    assert codes(ok, patient=patient(weight_kg="17", **CHILD)) == []                              # 14.7 mg/kg
    found = problems(ok, patient=patient(weight_kg="12", **CHILD))               # 20.8 mg/kg a dose, 83 a day
    assert [p.code for p in found] == ["child_dose", "child_dose"]
    assert "15 mg/kg a dose" in found[0].message and "60 mg/kg a day" in found[1].message
    many = medicine("Paracetamol", strength="250 mg/5 ml", form="syrup", dose="5 ml", frequency="Q6H")
    assert codes(many, patient=patient(weight_kg="17", **CHILD)) == []
    six = medicine("Paracetamol", strength="120 mg/5 ml", form="syrup", dose="10 ml", frequency="Q6H")  # 240 mg ×4
    found = problems(six, patient=patient(weight_kg="16", **CHILD))  # 15 mg/kg a dose, 60 mg/kg a day: exactly at
    assert found == []
    found = problems(six, patient=patient(weight_kg="15", **CHILD))
    assert {p.code for p in found} == {"child_dose"} and any("60 mg/kg" in p.message for p in found)


def test_an_unreadable_weight_is_refused():
    assert codes(medicine("Paracetamol", strength="120 mg/5 ml", form="syrup", dose="5 ml"),
                 patient=patient(weight_kg="about 15", **CHILD)) == ["weight_required"]


def test_an_adult_needs_no_weight():
    assert codes(medicine("Paracetamol"), patient=patient(weight_kg="")) == []


# Duplicates ----------------------------------------------------------------------------------------------------
def test_the_same_drug_twice_is_refused_even_by_brand_and_generic_name():
    found = problems(medicine("Paracetamol"), medicine("Crocin", strength="500 mg"))
    assert [p.code for p in found] == ["duplicate"] and "Paracetamol" in found[0].message
    assert codes(medicine("Paracetamol"), medicine("PARACETAMOL")) == ["duplicate"]
    assert codes(medicine("Zyloflamin 5", free_text=True, free_text_confirmed=True),
                 medicine("zyloflamin", free_text=True, free_text_confirmed=True)) == ["duplicate"]


def test_a_shared_ingredient_is_a_warning_to_acknowledge():
    lines = (medicine("Paracetamol"), medicine("Combiflam", strength="400 mg + 325 mg", dose="1 tablet"))
    assert codes(*lines) == ["warning"]
    assert "paracetamol" in problems(*lines)[0].message.lower()
    acknowledged = (lines[0], medicine("Combiflam", strength="400 mg + 325 mg", warning_acknowledged=True))
    assert codes(*acknowledged) == []


def test_different_drugs_are_not_duplicates():
    assert codes(medicine("Paracetamol"), medicine("Cetirizine", strength="10 mg", frequency="HS")) == []


# Methotrexate weekly ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frequency", ["OD", "BD", "HS", "TDS", "SOS"])
def test_methotrexate_other_than_weekly_is_refused(frequency):
    found = problems(medicine("Methotrexate", strength="7.5 mg", frequency=frequency, duration_days=28))
    assert [p.code for p in found] == ["methotrexate_weekly"] and "once a week" in found[0].message


def test_methotrexate_weekly_passes():
    assert codes(medicine("Methotrexate", strength="7.5 mg", frequency="WEEKLY", duration_days=28)) == []


def test_an_acknowledgement_is_signed_and_lines_without_one_keep_their_earlier_bytes():
    from rx.canonical import canonical_bytes, parse_canonical
    plain = prescription(consultation=OPEN)
    assert b"warning_acknowledged" not in canonical_bytes(plain)
    acknowledged = prescription(consultation=OPEN, medicines=(medicine(warning_acknowledged=True),))
    assert parse_canonical(canonical_bytes(acknowledged)).medicines[0].warning_acknowledged is True
