"""The shipped formulary: size, a basis for every tag, and lookups that free text cannot dodge."""

from __future__ import annotations

import pytest

from rx.formulary import TpgList, default_formulary, load_formulary


def test_the_shipped_formulary_lists_at_least_150_drugs_each_with_a_list_and_a_basis():
    formulary = default_formulary()
    assert len(formulary) >= 150
    assert all(d.basis and d.tpg_list in TpgList for d in formulary.drugs)
    assert {d.tpg_list for d in formulary.drugs} == set(TpgList)


@pytest.mark.parametrize(("name", "tag"), [
    ("PARACETAMOL", TpgList.O), ("ORS", TpgList.O), ("clotrimazole", TpgList.A), ("Metformin", TpgList.A),
    ("co-amoxiclav", TpgList.A), ("hydrochlorothiazide", TpgList.B), ("Codeine syrup", TpgList.PROHIBITED),
])
def test_drugs_are_found_by_generic_name_or_alias_whatever_the_case(name, tag):
    assert default_formulary().lookup(name).tpg_list is tag


def test_free_text_naming_a_combination_finds_the_combination_not_its_first_part():
    drug = default_formulary().mentioned_in("Amoxicillin + Clavulanic acid 625 mg")
    assert drug.generic_name == "Amoxicillin + clavulanic acid"


def test_a_formulary_file_with_an_unknown_list_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("generic_name,aliases,category,tpg_list,basis\nFoo,,x,Q,because\n")
    with pytest.raises(ValueError, match="line 2: unknown TPG list 'Q'"):
        load_formulary(str(path))


@pytest.mark.parametrize(("name", "form", "tag"), [
    ("Beclometasone inhaler", "inhaler", TpgList.A), ("budesonide", "inhaler", TpgList.A),
    ("Formoterol", "rotacap", TpgList.A), ("Salmeterol + fluticasone", "inhaler", TpgList.A),
    ("Tiotropium", "inhaler", TpgList.A), ("Betamethasone valerate cream", "cream", TpgList.A),
    ("Mometasone", "cream", TpgList.A), ("Methyldopa", "tablet", TpgList.A), ("Labetalol", "tablet", TpgList.A),
    ("Nifedipine", "tablet", TpgList.A), ("Glipizide", "tablet", TpgList.B), ("Oseltamivir", "capsule", TpgList.A),
    ("Valacyclovir", "tablet", TpgList.A), ("Mebendazole", "tablet", TpgList.O), ("Salbutamol", "syrup", TpgList.A),
    ("Hyoscine butylbromide", "tablet", TpgList.A), ("Nystatin", "suspension", TpgList.A),
    ("Pyridoxine", "tablet", TpgList.O), ("Thiamine", "tablet", TpgList.O),
])
def test_the_common_rural_opd_drugs_are_in_the_formulary_with_their_list(name, form, tag):
    drug = default_formulary().lookup(name, form=form)
    assert drug is not None and drug.tpg_list is tag and drug.basis


def test_a_name_may_repeat_only_for_different_forms(tmp_path):
    path = tmp_path / "f.csv"
    head = "generic_name,aliases,category,tpg_list,basis,forms\n"
    path.write_text(head + "Foo tablet,foo,x,A,b,tablet\nFoo cream,foo,x,O,b,topical\n")
    assert load_formulary(str(path)).lookup("foo", form="ointment").generic_name == "Foo cream"
    path.write_text(head + "Foo tablet,foo,x,A,b,tablet\nFoo pill,foo,x,O,b,tablet\n")
    with pytest.raises(ValueError, match="listed twice"):
        load_formulary(str(path))
