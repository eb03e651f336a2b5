"""The controlled-substance guard: NDPS / Schedule X substances refused by any spelling, in every mode;
Schedule H1 and MTP drugs warned about until the doctor acknowledges the warning on that line."""

from __future__ import annotations

import pytest

from rx.controlled import Action, default_controlled, tokens, within_one_edit
from rx.formulary import TpgList, default_formulary
from rx.model import Mode, Visit
from rx.rules import check

from .builders import consultation, medicine, prescription

CONTROLLED = default_controlled()
REFUSED = [e for e in CONTROLLED.entries if e.action is Action.REFUSE]
WARNED = [e for e in CONTROLLED.entries if e.action is Action.WARN]

#: The most permissive consultation there is: a video follow-up after an in-person start (O, A, B open).
OPEN = consultation(mode=Mode.VIDEO, visit=Visit.FOLLOW_UP, prior_in_person=True)


def codes(line_name: str, free_text: bool = True, **changes) -> list[str]:
    line = medicine(line_name, free_text=free_text, free_text_confirmed=free_text, **changes)
    return [p.code for p in check(prescription(consultation=OPEN, medicines=(line,)), default_formulary())]


def spelling_variants(name: str) -> list[str]:
    """What people really type for a drug name: case, punctuation, glued strengths and units, form words,
    `+` combinations without spaces, and (for names of 6+ letters) one-character typos."""
    squashed = name.replace(" ", "")
    out = [name, name.upper(), name.lower(), name.title(), f"{squashed}0.5mg", f"{squashed}0.25",
           f"{name} 0.5 mg", f"Tab. {name}", f"{name} SR", f"Syp {name} 5ml",
           f"paracetamol+{squashed}", f"{squashed}+paracetamol", f"{name}/PCM", f"({name})",
           name.replace(" ", "-"), f"{name}, 1 tab"]
    letters = squashed.lower()
    if len(letters) >= 6 and letters.isalpha():
        out.append(f"TAB{squashed.upper()}")  # a form word glued on
        mid = len(letters) // 2
        out += [letters[:mid] + letters[mid + 1:],                                   # a letter dropped
                letters[:mid] + ("x" if letters[mid] != "x" else "y") + letters[mid + 1:],  # one replaced
                letters[:mid] + "e" + letters[mid:],                                 # one inserted
                letters[:mid - 1] + letters[mid] + letters[mid - 1] + letters[mid + 1:]]  # two swapped
    return out


@pytest.mark.parametrize("name", sorted({e.name for e in REFUSED}))
def test_every_listed_controlled_name_is_refused_under_every_spelling_variant(name):
    for variant in spelling_variants(name):
        for free_text in (True, False):
            got = codes(variant, free_text=free_text)
            assert got == ["prohibited"], (variant, free_text, got)


@pytest.mark.parametrize("typed", [
    "Tab Alprax 0.25", "ALPRAZOLAM0.5MG", "alprazolam0.5mg", "Alprax0.25", "paracetamol+tramadol",
    "Tramadol/Paracetamol 37.5/325", "Ultracet", "ULTRACET SEMI", "clonazepam-0.5", "Syp. Corex 5ml",
    "Phensedyl cough linctus", "alprazolm", "Tramadl 50", "Spasmo-Proxyvon", "spasmoproxyvon", "Lonazep MD 0.5",
    "Zolfresh 10", "Rivotril 0.5", "Tab. Restyl-SR", "Calmpose 5 mg", "Inj Fortwin 30mg", "Norphin", "Librax",
    "chlordiazepoxide+clidinium", "Ritalin 10mg", "Codeine phosphate+chlorpheniramine syrup", "Lomotil",
    "ketamine", "phenobarbitone 30", "Gardenal 60", "Morphine sulphate SR 10", "Fentanyl patch 25 mcg",
    "Ativan 2mg", "Nitrosun-10", "methylphenidate ER 18", "cannabis oil", "Dextropropoxyphene", "Carisoprodol 350",
])
def test_what_people_really_type_is_refused_in_every_mode(typed):
    for mode in Mode:
        for visit in Visit:
            rx = prescription(consultation=consultation(mode=mode, visit=visit, prior_in_person=True),
                              medicines=(medicine(typed, free_text=True, free_text_confirmed=True),))
            problems = check(rx, default_formulary())
            assert [p.code for p in problems] == ["prohibited"], (typed, mode, visit, problems)


def test_the_refusal_names_the_substance_and_the_act_or_schedule():
    [problem] = check(prescription(consultation=OPEN, medicines=(medicine("Alprax 0.25", free_text=True),)),
                      default_formulary())
    assert problem.code == "prohibited"
    assert "alprazolam" in problem.message.lower() and "NDPS Act 1985" in problem.message
    assert "never be prescribed by telemedicine" in problem.message
    [problem] = check(prescription(consultation=OPEN, medicines=(medicine("Ritalin", free_text=True),)),
                      default_formulary())
    assert "methylphenidate" in problem.message.lower() and "Schedule X" in problem.message


@pytest.mark.parametrize("name", sorted({n for d in default_formulary().drugs if d.tpg_list is not TpgList.PROHIBITED
                                         for n in (d.generic_name, *d.aliases)}))
def test_no_allowed_formulary_drug_is_taken_for_a_controlled_one(name):
    assert [m for m in CONTROLLED.find(name) if m.entry.action is Action.REFUSE] == [], name
    assert "prohibited" not in codes(name, free_text=False)


#: Drugs and brands an Indian OPD writes that are not under the NDPS Act or Schedule X (some sound close).
NOT_CONTROLLED = """Nimesulide Pregabalin Gabapentin Serratiopeptidase Trypsin Etoricoxib Deflazacort Dexamethasone
Pheniramine Dextromethorphan Ornidazole Racecadotril Sucralfate Linezolid Clindamycin Itraconazole Flunarizine
Piracetam Duloxetine Venlafaxine Mirtazapine Trazodone Quetiapine Haloperidol Divalproex Lamotrigine Topiramate
Baclofen Tizanidine Thiocolchicoside Chlorzoxazone Nebivolol Ranolazine Trimetazidine Ticagrelor Sildenafil
Tadalafil Dydrogesterone Letrozole Clomiphene Nitazoxanide Rifaximin Methylprednisolone Febuxostat Levosulpiride
Itopride Linagliptin Fenofibrate Diltiazem Ketorolac Etodolac Piroxicam Indomethacin Clonidine Doxofylline
Theophylline Bilastine Desloratadine Promethazine Dimenhydrinate Doxylamine Paroxetine Clomipramine Imipramine
Nortriptyline Bupropion Naltrexone Disulfiram Memantine Donepezil Levodopa Trihexyphenidyl Methylergometrine
Oxcarbazepine Minoxidil Isotretinoin Gentamicin Atropine Tropicamide Olopatadine Bromhexine Noscapine Naloxone
Clidinium Methocarbamol Aripiprazole Atomoxetine Melatonin Apomorphine Oxytocin Ketorol Zerodol Hifenac Dolonex
Cyclopam Meftal Buscopan Norflox Ciplox Metrogyl Digene Gelusil Pantop Rantac Omez Emeset Domstal Perinorm
Avomine Stemetil Vertin Dolo Crocin Montelukast+levocetirizine""".split()


@pytest.mark.parametrize("typed", NOT_CONTROLLED + ["Paracetamol 650", "Cetirizine 10mg", "Amoxycillin 500",
                                                     "Diclofenac 50", "Ondansetron MD 4", "Telmisartan 40"])
def test_common_drugs_that_merely_look_alike_are_not_refused(typed):
    assert [m for m in CONTROLLED.find(typed, default_formulary().safe_words)
            if m.entry.action is Action.REFUSE] == [], typed


def test_every_prohibited_formulary_drug_is_in_the_controlled_list():
    for drug in default_formulary().drugs:
        if drug.tpg_list is TpgList.PROHIBITED:
            assert any(m.entry.action is Action.REFUSE for m in CONTROLLED.find(drug.generic_name)), drug


def test_every_entry_has_a_law_and_a_source_note_and_brands_point_to_a_listed_substance():
    substances = {e.substance for e in CONTROLLED.entries if e.kind == "inn"}
    for entry in CONTROLLED.entries:
        assert entry.law and entry.source, entry
        assert entry.substance in substances, entry
    assert len({e.substance for e in REFUSED}) >= 40
    assert sum(e.kind == "brand" for e in REFUSED) >= 30


@pytest.mark.parametrize("name", sorted({e.name for e in WARNED}))
def test_every_listed_warning_name_is_warned_about_under_every_spelling_variant(name):
    for variant in spelling_variants(name):
        assert "warning" in codes(variant), variant


@pytest.mark.parametrize(("typed", "words"), [
    ("Tapentadol 50", "Schedule H1"), ("Tapal 100", "Schedule H1"), ("Cefixime", "Schedule H1"),
    ("Levofloxacin 500", "Schedule H1"), ("Mifepristone 200", "MTP Act"), ("misoprostol200mcg", "MTP Act"),
    ("MTP Kit", "MTP Act"), ("Rifampicin", "Schedule H1"),
])
def test_h1_and_mtp_drugs_need_the_doctors_acknowledgement(typed, words):
    problems = check(prescription(consultation=OPEN, medicines=(medicine(typed, free_text=True,
                                                                          free_text_confirmed=True),)),
                     default_formulary())
    assert "warning" in [p.code for p in problems], problems
    warning = next(p for p in problems if p.code == "warning")
    assert words in warning.message and "acknowledge" in warning.message
    acknowledged = medicine(typed, free_text=True, free_text_confirmed=True, warning_acknowledged=True)
    problems = check(prescription(consultation=OPEN, medicines=(acknowledged,)), default_formulary())
    assert "warning" not in [p.code for p in problems]


def test_tokens_split_glued_strengths_and_punctuation():
    assert tokens("Tab.ALPRAX0.25mg+PCM(SR)") == ["tab", "alprax", "mg", "pcm", "sr"]


@pytest.mark.parametrize(("a", "b", "near"), [
    ("alprazolam", "alprazolm", True), ("alprazolam", "alprazloam", True), ("tramadol", "tramadoll", True),
    ("tramadol", "trymadol", True), ("tramadol", "tramadol", True), ("diazepam", "dizapem", False),
    ("codeine", "cocaine", False), ("abc", "abcde", False),
])
def test_one_edit_means_one_insertion_deletion_substitution_or_swap(a, b, near):
    assert within_one_edit(a, b) is near
