"""The journey runs against the portal tests' server (tests/portal/conftest.py), in a clinic with one GP
on duty in the General OPD, as at a primary health centre: so a second patient waits for the first; the
doctors' registration numbers have the council's shape, as signing a prescription checks."""

import pytest

from portal import db
from tests.portal.conftest import Clinic, chromium, make_clinic, server  # noqa: F401 - fixtures


@pytest.fixture
def clinic(tmp_path) -> Clinic:
    made = make_clinic(tmp_path)
    conn = db.connect(tmp_path / db.DB_FILE)
    with conn:
        conn.execute("UPDATE doctors SET active = 0 WHERE username = 'dr-tamil'")  # off duty today
        # registration numbers as the Karnataka Medical Council prints them: prescriptions check them
        for username, number in (("dr-hindi", "KMC-48213"), ("dr-heart", "KMC-51877"), ("dr-eye", "KMC-60412")):
            conn.execute("UPDATE doctors SET registration_number = ? WHERE username = ?", (number, username))
    conn.close()
    return made
