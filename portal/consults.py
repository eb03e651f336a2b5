"""Consultations: a doctor admits a patient (a room is made), the patient answers the call, the doctor holds,
resumes and ends it; a missed call sends the patient back once, then expires the token.

Room access tokens are minted here with `signaling.grants` (the same secret signaling verifies); a room page
link carries the token in its fragment: `/room/<room>#token=<jwt>`, so it never reaches a server log; a
patient's link also carries the language of their profile (`&lang=<code>`), which the room page speaks.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable

from signaling.grants import Role, mint_token

from . import routing
from . import storage as st
from .db import Database
from .errors import Conflict, Forbidden, NotFoundError
from .events import QueueEvents
from .i18n import N_
from .models import (
    Consent,
    ConsentHow,
    Consultation,
    ConsultMode,
    ConsultStatus,
    Doctor,
    StartedBy,
    Token,
    TokenStatus,
)

MAX_OPEN_ROOMS = 4
#: A called patient who has not pressed "Call now" by then has missed the call.
CALL_TIMEOUT_S = 120
MAX_MISSED = 2  # the first miss sends the patient back to the queue, the second expires the token


def room_link(secret: str, room: str, identity: str, role: Role, ttl_s: int, lang: str | None = None,
              name: str | None = None) -> str:
    """The room page's link; `lang` (a portal language code) makes the page speak it; `name` is what the
    others in the room see."""
    token = mint_token(secret, room=room, identity=identity, role=role, ttl_s=ttl_s, name=name)
    return f"/room/{room}#token={token}" + (f"&lang={lang}" if lang else "")


def room_ttl(consult_limit_min: int) -> int:
    """Room tokens outlive the OPD's time limit by half an hour (a reconnect needs a valid token)."""
    return min(24 * 3600, consult_limit_min * 60 + 30 * 60)


def _new_room() -> str:
    return "c-" + secrets.token_hex(8)


def doctor_serves(conn: sqlite3.Connection, doctor_id: int, opd_id: int) -> bool:
    return any(o.id == opd_id for o in st.opds_of_doctor(conn, doctor_id))


def own_consultation(conn: sqlite3.Connection, doctor_id: int, consultation_id: int) -> Consultation:
    try:
        c = st.get_consultation(conn, consultation_id)
    except st.NotFound:
        raise NotFoundError("no_consultation", N_("This page does not exist.")) from None
    if c.doctor_id != doctor_id:
        raise Forbidden("not_yours", N_("This record belongs to someone else."))
    return c


def consent_for(token: Token) -> tuple[StartedBy, str, Consent]:
    """Who started the consult and the consent: implied when the patient queued themselves (TPG 2020)."""
    if token.health_worker_id is not None:
        if token.consent is None:
            raise Conflict("no_consent", N_("The patient's consent is not recorded."))
        return StartedBy.HEALTH_WORKER, f"hw:{token.health_worker_id}", token.consent
    who = f"patient:{token.patient_id}"
    return StartedBy.PATIENT, who, Consent(who=who, at=token.queued_at or time.time(), how=ConsentHow.IMPLIED)


class Consults:
    def __init__(self, db: Database, events: QueueEvents, secret: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.db = db
        self.events = events
        self.secret = secret

    async def admit(
        self, doctor_id: int, opd_id: int, token_id: int | None = None, mode: ConsultMode = ConsultMode.VIDEO
    ) -> Consultation:
        """Admit a chosen waiting patient, or the next one routing picks for this doctor."""
        now = self.clock()

        def admit(conn: sqlite3.Connection) -> Consultation:
            doctor = st.get_doctor(conn, doctor_id)
            if not doctor_serves(conn, doctor_id, opd_id):
                raise Forbidden("not_your_opd", N_("You do not work in this OPD."))
            if len(st.open_consultations(conn, doctor_id)) >= MAX_OPEN_ROOMS:
                raise Conflict("too_many_rooms", N_("End or hold a consultation first (at most %(n)s open)."),
                               n=MAX_OPEN_ROOMS)
            token = self._pick(conn, doctor, opd_id, token_id, now)
            started_by, starter, consent = consent_for(token)
            consultation = st.add_consultation(
                conn, token=token, doctor_id=doctor_id, room=_new_room(), mode=mode,
                started_by=started_by, started_by_id=starter, consent=consent, started_at=now,
            )
            st.update_token(conn, token.id, status=TokenStatus.CALLED, doctor_id=doctor_id,
                            consultation_id=consultation.id)
            st.audit(conn, doctor.identity, "admit", f"patient:{token.patient_id}")
            return consultation

        consultation = await self.db.run(admit)
        await self.events.changed(opd_id)
        return consultation

    def _pick(self, conn: sqlite3.Connection, doctor: Doctor, opd_id: int, token_id: int | None, now: float) -> Token:
        waiting = st.waiting_tokens(conn, opd_id)
        if token_id is not None:
            chosen = next((t for t in waiting if t.id == token_id), None)
            if chosen is None:
                raise Conflict("not_waiting", N_("This patient is no longer waiting."))
            return chosen
        chosen = routing.choose_next(waiting, doctor, st.doctors_of_opd(conn, opd_id), now)
        if chosen is None:
            raise Conflict("queue_empty", N_("Nobody is waiting for you now."))
        return chosen

    async def answer(self, token_id: int) -> str:
        """The patient pressed "Call now": record it and give their room link (checked by the caller)."""
        now = self.clock()

        def answer(conn: sqlite3.Connection) -> str:
            token = st.get_token(conn, token_id)
            if token.status not in (TokenStatus.CALLED, TokenStatus.IN_CONSULT) or token.consultation_id is None:
                raise Conflict("not_called", N_("The doctor has not called you yet."))
            c = st.get_consultation(conn, token.consultation_id)
            if token.status is TokenStatus.CALLED:
                st.update_token(conn, token.id, status=TokenStatus.IN_CONSULT)
                st.update_consultation(conn, c.id, answered_at=now)
            limit = st.get_opd(conn, c.opd_id).consult_limit_min
            patient = st.get_patient(conn, token.patient_id)
            return room_link(self.secret, c.room, f"patient:{token.patient_id}", Role.PATIENT, room_ttl(limit),
                             lang=patient.language, name=patient.name)

        link = await self.db.run(answer)
        return link

    async def doctor_link(self, doctor_id: int, consultation_id: int) -> str:
        def link(conn: sqlite3.Connection) -> str:
            c = own_consultation(conn, doctor_id, consultation_id)
            if c.status not in (ConsultStatus.ACTIVE, ConsultStatus.HELD):
                raise Conflict("ended", N_("This consultation has ended."))
            limit = st.get_opd(conn, c.opd_id).consult_limit_min
            return room_link(self.secret, c.room, f"doctor:{doctor_id}", Role.DOCTOR, room_ttl(limit),
                             name=st.get_doctor(conn, doctor_id).name)

        return await self.db.run(link)

    async def set_held(self, doctor_id: int, consultation_id: int, held: bool) -> Consultation:
        def change(conn: sqlite3.Connection) -> Consultation:
            c = own_consultation(conn, doctor_id, consultation_id)
            if c.status not in (ConsultStatus.ACTIVE, ConsultStatus.HELD):
                raise Conflict("ended", N_("This consultation has ended."))
            return st.update_consultation(conn, c.id, status=ConsultStatus.HELD if held else ConsultStatus.ACTIVE)

        return await self.db.run(change)

    async def end(self, doctor_id: int, consultation_id: int) -> Consultation:
        """End the consultation; its duration counts from when the patient answered (else from admit)."""
        now = self.clock()

        def end(conn: sqlite3.Connection) -> Consultation:
            c = own_consultation(conn, doctor_id, consultation_id)
            if c.status not in (ConsultStatus.ACTIVE, ConsultStatus.HELD):
                raise Conflict("ended", N_("This consultation has ended."))
            start = c.answered_at or c.started_at
            st.update_token(conn, c.token_id, status=TokenStatus.DONE)
            return st.update_consultation(conn, c.id, status=ConsultStatus.ENDED, ended_at=now,
                                          duration_s=max(0.0, now - start))

        c = await self.db.run(end)
        await self.events.changed(c.opd_id)
        return c

    async def missed(self, doctor_id: int | None, consultation_id: int) -> Token:
        """The patient did not answer: back to the end of the queue once, then the token expires."""
        now = self.clock()

        def miss(conn: sqlite3.Connection) -> Token:
            if doctor_id is None:
                c = st.get_consultation(conn, consultation_id)
            else:
                c = own_consultation(conn, doctor_id, consultation_id)
            token = st.get_token(conn, c.token_id)
            if token.status is not TokenStatus.CALLED:
                raise Conflict("answered", N_("The patient has already answered."))
            st.update_consultation(conn, c.id, status=ConsultStatus.MISSED, ended_at=now)
            missed = token.missed_count + 1
            if missed >= MAX_MISSED:
                return st.update_token(conn, token.id, status=TokenStatus.EXPIRED, missed_count=missed,
                                       consultation_id=None)
            return st.update_token(conn, token.id, status=TokenStatus.WAITING, queued_at=now,
                                   missed_count=missed, consultation_id=None, doctor_id=None)

        token = await self.db.run(miss)
        await self.events.changed(token.opd_id)
        return token

    async def sweep_unanswered(self, now: float | None = None) -> int:
        """Mark calls nobody answered within CALL_TIMEOUT_S as missed; return how many."""
        cutoff = (now or self.clock()) - CALL_TIMEOUT_S

        def find(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT c.id FROM consultations c JOIN tokens t ON t.consultation_id = c.id"
                " WHERE t.status = ? AND c.answered_at IS NULL AND c.started_at < ?",
                (TokenStatus.CALLED.value, cutoff),
            )
            return [int(r[0]) for r in rows]

        ids = await self.db.run(find)
        for cid in ids:
            try:
                await self.missed(None, cid)
            except Conflict:
                pass  # answered meanwhile
        return len(ids)
