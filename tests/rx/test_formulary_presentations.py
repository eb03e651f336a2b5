"""Each formulary drug's common presentations (strength + dosage form, as a doctor writes them): the shipped
file carries them, every form is one rx.forms reads and fits the entry's own form restriction, and a
presentation that cannot be read is refused with its row."""

from __future__ import annotations

import pytest

from rx.formulary import Presentation, TpgList, default_formulary, load_formulary
from rx.forms import form_class

HEAD = "generic_name,aliases,category,tpg_list,basis,forms,presentations\n"


def _drug(name: str):
    return default_formulary().lookup(name)


def test_the_shipped_formulary_gives_paracetamol_its_common_strengths_and_forms():
    para = _drug("Paracetamol")
    assert Presentation("650 mg", "tablet") in para.presentations
    assert Presentation("120 mg/5 mL", "suspension") in para.presentations
    assert str(para.presentations[0]) == "500 mg tablet"
    co_amox = _drug("co-amoxiclav")
    assert Presentation("500 mg + 125 mg", "tablet") in co_amox.presentations
    assert Presentation("0.1%", "nasal drops") in _drug("Xylometazoline").presentations


def test_most_prescribable_drugs_have_presentations_and_no_controlled_substance_has_any():
    drugs = default_formulary().drugs
    prescribable = [d for d in drugs if d.tpg_list is not TpgList.PROHIBITED]
    assert sum(bool(d.presentations) for d in prescribable) >= 0.8 * len(prescribable)
    assert not any(d.presentations for d in drugs if d.tpg_list is TpgList.PROHIBITED)


def test_every_presentation_form_is_one_rx_forms_reads_and_fits_the_entrys_form_restriction():
    for drug in default_formulary().drugs:
        for p in drug.presentations:
            cls = form_class(p.form)
            assert cls is not None, (drug.generic_name, p)
            assert not drug.forms or cls in drug.forms, (drug.generic_name, p, drug.forms)
            assert p.strength and p.strength[0].isdigit(), (drug.generic_name, p)


@pytest.mark.parametrize(("cell", "problem"), [
    ("tablet", "no strength"),              # a form alone
    ("500 mg", "no form"),                  # a strength alone
    ("500 mg pill-thing", "form"),          # a form rx.forms cannot read
    ("about 5 tablet", "no strength"),      # not a strength
])
def test_a_presentation_that_cannot_be_read_is_refused_with_its_row(tmp_path, cell, problem):
    path = tmp_path / "f.csv"
    path.write_text(HEAD + "Foo,,x,A,b,,10 mg tablet\n" + f"Bar,,x,A,b,,5 mg tablet|{cell}\n")
    with pytest.raises(ValueError, match=f"line 3: .*{cell!r}.*{problem}"):
        load_formulary(str(path))


def test_a_presentation_outside_the_entrys_forms_or_on_a_prohibited_drug_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(HEAD + "Foo eye drops,,x,A,b,eye drops,0.3% eye drops|1% cream\n")
    with pytest.raises(ValueError, match="line 2: .*'1% cream'.*not one of this entry's forms"):
        load_formulary(str(path))
    path.write_text(HEAD + "Foo,,x,A,b,,\nBaz,,x,prohibited,NDPS,,2 mg tablet\n")
    with pytest.raises(ValueError, match="line 3: a prohibited drug has no presentations"):
        load_formulary(str(path))


def test_a_file_without_the_presentations_column_still_loads(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("generic_name,aliases,category,tpg_list,basis\nFoo,,x,A,because\n")
    assert load_formulary(str(path)).lookup("foo").presentations == ()
