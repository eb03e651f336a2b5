"""Hub-and-spoke: a health worker at a spoke queues the patient sitting with them for a hub speciality.

The patient's explicit consent is required and recorded (who gave it, when, how) on the token, and copied
to the consultation when the specialist admits it. In the room: health worker, patient and specialist; the
specialist (the consultation's doctor) is the one who prescribes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass

from signaling.grants import Role

from . import clinic_time
from . import storage as st
from .consults import room_link, room_ttl
from .db import Database
from .errors import Conflict, Forbidden, Invalid, NotFoundError
from .events import QueueEvents
from .i18n import LANGUAGES, N_
from .models import ConsentHow, Consent, Consultation, ConsultStatus, Patient, Token, TokenStatus, Visit
from .registration import PatientForm


@dataclass(frozen=True)
class ConsentForm:
    given: bool
    how: ConsentHow
    who: str  # "patient", or the name of the adult who consents for them


def parse_consent(data: Mapping[str, str]) -> ConsentForm:
    errors: dict[str, str] = {}
    given = data.get("consent") in ("yes", "on", "true", "1")
    if not given:
        errors["consent"] = N_("The patient must agree before the consultation.")
    try:
        how = ConsentHow(data.get("consent_how") or "")
    except ValueError:
        how = ConsentHow.VERBAL
        errors["consent_how"] = N_("Choose how the patient agreed.")
    if how is ConsentHow.IMPLIED:
        errors["consent_how"] = N_("Choose how the patient agreed.")
    who = " ".join((data.get("consent_who") or "").split())[:80] or "patient"
    if errors:
        raise Invalid(errors)
    return ConsentForm(given, how, who)


class Referrals:
    def __init__(self, db: Database, events: QueueEvents, secret: str) -> None:
        self.db = db
        self.events = events
        self.secret = secret

    async def refer(
        self,
        hw_id: int,
        opd_id: int,
        consent: ConsentForm,
        language: str,
        patient_id: str | None = None,
        new_patient: tuple[str, PatientForm] | None = None,
    ) -> Token:
        """Queue an existing patient (by Patient ID) or a newly registered one (mobile, form) at a hub OPD."""
        if language not in LANGUAGES:
            raise Invalid({"language": N_("Choose a language.")})
        now = time.time()

        def refer(conn: sqlite3.Connection) -> Token:
            hw = st.get_health_worker(conn, hw_id)
            try:
                opd = st.get_opd(conn, opd_id)
            except st.NotFound:
                raise Invalid({"opd": N_("Choose an OPD.")}) from None
            if not opd.is_hub:
                raise Invalid({"opd": N_("Choose a hospital (hub) OPD.")})
            if st.count_live_tokens(conn, opd.id, clinic_time.today()) >= opd.capacity:
                raise Conflict("opd_full", N_("This OPD is full today. Please try tomorrow."))
            patient = self._patient(conn, patient_id, new_patient)
            who = f"patient:{patient.id}" if consent.who == "patient" else consent.who
            token = st.add_token(
                conn, opd=opd, patient_id=patient.id, day=clinic_time.today(), language=language,
                status=TokenStatus.WAITING, visit=Visit.FIRST, queued_at=now, health_worker_id=hw.id,
                consent=Consent(who=who, at=now, how=consent.how),
            )
            st.audit(conn, hw.identity, "refer", f"patient:{patient.id}")
            return token

        token = await self.db.run(refer)
        await self.events.changed(opd_id)
        return token

    @staticmethod
    def _patient(
        conn: sqlite3.Connection, patient_id: str | None, new_patient: tuple[str, PatientForm] | None
    ) -> Patient:
        if patient_id:
            try:
                return st.get_patient(conn, patient_id.strip().upper())
            except st.NotFound:
                raise Invalid({"patient_id": N_("No patient has this Patient ID.")}) from None
        if new_patient is None:
            raise Invalid({"patient_id": N_("Enter a Patient ID or register the patient.")})
        mobile, form = new_patient
        return st.add_patient(conn, mobile=mobile, name=form.name, sex=form.sex, state=form.state,
                              district=form.district, language=form.language, age_years=form.age_years,
                              birth_date=form.birth_date)

    async def room_links(self, hw_id: int, token_id: int) -> dict[str, str]:
        """The health worker's own room link and one for the patient's phone, once the specialist admits."""
        def links(conn: sqlite3.Connection) -> dict[str, str]:
            try:
                token = st.get_token(conn, token_id)
            except st.NotFound:
                raise NotFoundError("no_token", N_("This page does not exist.")) from None
            if token.health_worker_id != hw_id:
                raise Forbidden("not_yours", N_("This record belongs to someone else."))
            c = self.open_consultation(conn, token)
            if token.status is TokenStatus.CALLED:  # the spoke answered the specialist's call
                st.update_token(conn, token.id, status=TokenStatus.IN_CONSULT)
                st.update_consultation(conn, c.id, answered_at=time.time())
            ttl = room_ttl(st.get_opd(conn, c.opd_id).consult_limit_min)
            patient = st.get_patient(conn, token.patient_id)
            return {
                "health_worker": room_link(self.secret, c.room, f"hw:{hw_id}", Role.HEALTH_WORKER, ttl,
                                           name=st.get_health_worker(conn, hw_id).name),
                "patient": room_link(self.secret, c.room, f"patient:{token.patient_id}", Role.PATIENT, ttl,
                                     lang=patient.language, name=patient.name),
            }

        return await self.db.run(links)

    @staticmethod
    def open_consultation(conn: sqlite3.Connection, token: Token) -> Consultation:
        c = st.get_consultation(conn, token.consultation_id) if token.consultation_id else None
        if c is None or c.status not in (ConsultStatus.ACTIVE, ConsultStatus.HELD):
            raise NotFoundError("not_called", N_("The doctor has not called you yet."))
        return c
