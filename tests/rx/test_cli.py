"""`vaidya rx demo | verify | export-keys`, through the real `vaidya` entry point."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import unicodedata

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from rx import labels
from rx.model import LANGUAGES
from rx.service import RxService
from rx.store import Store
from signaling.cli import main

from .builders import ISSUED, SECRET, prescription

VAIDYA = [sys.executable, "-m", "signaling.cli"]


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_the_demo_writes_a_sample_whose_qr_verifies_and_fails_with_one_changed_character(tmp_path):
    out = tmp_path / "demo"
    assert subprocess.run([*VAIDYA, "rx", "demo", "--lang", "hi", "--out", str(out)], check=False).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "keys.json", "prescription.pdf", "qr.txt"]
    keys, qr_text = str(out / "keys.json"), (out / "qr.txt").read_text()
    ok = subprocess.run([*VAIDYA, "rx", "verify", "--keys", keys, "--qr", qr_text], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("VALID") and "KMC-48213" in ok.stdout
    bad = subprocess.run([*VAIDYA, "rx", "verify", "--keys", keys, "--qr", _flip(qr_text, len(qr_text) - 20)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout.startswith("INVALID")
    pdf = subprocess.run([*VAIDYA, "rx", "verify", "--keys", keys, str(out / "prescription.pdf")],
                         capture_output=True, text=True)
    assert pdf.returncode == 0 and "सीता देवी" in pdf.stdout and "HYDROCHLOROTHIAZIDE" in pdf.stdout
    Bundle.model_validate(json.loads((out / "bundle.json").read_text()))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_demo_prints_labels_in_every_supported_language(tmp_path, lang, capsys):
    assert main(["rx", "demo", "--lang", lang, "--out", str(tmp_path)]) == 0
    text = PdfReader(io.BytesIO((tmp_path / "prescription.pdf").read_bytes())).pages[0].extract_text()
    letters = "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")
    for key in ("title", "patient", "diagnosis"):
        local = labels.local(key, lang)
        if lang == "ur":  # right-to-left words come back in visual order: check each word
            assert all(word in letters for word in local.split()), (key, local)
        else:
            assert "".join(local.split()) in letters, (key, local)


def test_verify_with_an_unreadable_registry_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "keys.json").write_text("{not json")
    assert main(["rx", "verify", "--keys", str(tmp_path / "keys.json"), "--qr", "RX1.x"]) == 2
    assert "vaidya rx verify" in capsys.readouterr().err


def test_export_keys_writes_the_registry_of_a_data_dir(tmp_path, capsys):
    service = RxService(Store(tmp_path / "vaidya.db"), SECRET, clock=lambda: ISSUED)
    signed = service.issue(prescription())
    assert main(["rx", "export-keys", "--data-dir", str(tmp_path), "--out", str(tmp_path / "keys.json")]) == 0
    registry = json.loads((tmp_path / "keys.json").read_text())
    assert [k["key_id"] for k in registry["keys"]] == [signed.key_id]
    assert "sealed" not in json.dumps(registry) and registry["keys"][0]["registration_number"] == "KMC-48213"
    assert main(["rx", "export-keys", "--data-dir", str(tmp_path / "nowhere")]) == 2
