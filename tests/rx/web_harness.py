"""A real site for the Rx web tests: signaling's create_app over a SQLite file seeded with the portal's
own storage functions (an OPD, two doctors, two patients, a video and an audio consultation)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from portal import db as portal_db
from portal import pharmacists
from portal import security
from portal import storage as st
from portal.auth import SESSION_COOKIE
from portal.context import PORTAL
from portal.middlewares import BROWSER_COOKIE
from portal.models import Consent, ConsentHow, ConsultMode, Sex, StartedBy, Visit

MEDICINE = {"generic_name": "Paracetamol", "strength": "500 mg", "form": "tablet", "dose": "1 tablet",
            "frequency": "TDS", "duration_days": 3, "route": "oral", "instructions": "after food", "quantity": 9}
PHARMACIST_PASSWORD = "correct horse battery"
#: Registration numbers as the Karnataka Medical Council writes them.
REGISTRATION = {"asha": "KMC-48213", "binod": "KMC-51877"}
FORM = {"age_confirmed": True, "weight_kg": "58", "chief_complaints": "Fever for 2 days",
        "diagnosis": "Acute viral fever", "provisional": True, "medicines": [MEDICINE],
        "advice": "Fluids and rest"}


@dataclass
class Clinic:
    doctor_a: int
    doctor_b: int
    patient_a: str
    patient_b: str
    video_consult: int  # patient A with doctor A, by video, first visit
    audio_consult: int  # patient A with doctor A, by audio, first visit
    pharmacist: int = 0  # a registered pharmacist at a Jan Aushadhi Kendra


def make_clinic(data_dir) -> Clinic:
    conn = portal_db.connect(data_dir / portal_db.DB_FILE)
    portal_db.migrate(conn)
    opd = st.add_opd(conn, code="GEN", name="General OPD")
    doctors = [st.add_doctor(conn, username=f"dr-{n}", name=f"Dr. {n.title()}", qualification="MBBS",
                             registration_number=REGISTRATION[n], council="Karnataka Medical Council",
                             password_hash="x", languages=["hi", "en"]).id for n in ("asha", "binod")]
    pa = st.add_patient(conn, mobile="9800000001", name="सीता देवी", sex=Sex.FEMALE, state="Karnataka",
                        district="Mysuru", language="hi", age_years=42)
    pb = st.add_patient(conn, mobile="9800000002", name="Ravi Kumar", sex=Sex.MALE, state="Karnataka",
                        district="Kolar", language="kn", age_years=35)
    consults = []
    for mode in (ConsultMode.VIDEO, ConsultMode.AUDIO):
        token = st.add_token(conn, opd=opd, patient_id=pa.id, day=dt.date.today(), language="hi", visit=Visit.FIRST)
        consults.append(st.add_consultation(
            conn, token=token, doctor_id=doctors[0], room=f"room-{mode}", mode=mode, started_by=StartedBy.PATIENT,
            started_by_id=f"patient:{pa.id}", consent=Consent(who=pa.name, at=time.time(), how=ConsentHow.IMPLIED)).id)
    chemist = pharmacists.add_pharmacist(conn, username="ph-iyer", name="M. Iyer", licence_number="KSPC-22310",
                                         pharmacy="Jan Aushadhi Kendra, Hosakote",
                                         password_hash=security.hash_password(PHARMACIST_PASSWORD))
    conn.close()
    return Clinic(doctors[0], doctors[1], pa.id, pb.id, *consults, pharmacist=chemist.id)


class Visitor:
    """A browser with its own cookies: a browser id, and a portal session once logged in."""

    def __init__(self, client, app) -> None:
        self.client, self.app = client, app
        self.browser_id = security.new_secret()
        client.session.cookie_jar.update_cookies({BROWSER_COOKIE: self.browser_id})

    async def log_in(self, kind: str, subject: str) -> Visitor:
        raw = await self.app[PORTAL].accounts.start_session(kind, subject)
        self.client.session.cookie_jar.update_cookies({SESSION_COOKIE: raw})
        return self

    def csrf(self) -> dict[str, str]:
        return {"X-CSRF-Token": security.csrf_token(self.app[PORTAL].secret, self.browser_id)}

    async def post_json(self, path: str, body: dict):
        resp = await self.client.post(path, json=body, headers=self.csrf())
        return resp, await resp.json()

    async def get(self, path: str, **kw):
        return await self.client.get(path, allow_redirects=False, **kw)
