"""Tokens and OPD queues: booking a token, the SMS login link, joining the queue, position and ETA.

Everything lives in the database (a restart keeps every token and its place); `QueueEvents` only tells
live pages that something changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import clinic_time, eta, security
from . import storage as st
from .db import Database
from .errors import Conflict, Forbidden, Invalid, NotFoundError, PortalError
from .events import QueueEvents
from .i18n import LANGUAGES, N_, Language
from .models import LIVE_TOKEN_STATUSES, Consultation, ConsultStatus, Opd, Patient, Token, TokenStatus, Visit
from .sms import SmsError, SmsGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueState:
    """What the patient's page shows: where they stand and, once admitted, the consultation."""

    token: Token
    opd: Opd
    position: int | None  # 1 = next; None when not waiting
    eta_s: float | None
    consultation: Consultation | None
    #: Waiting, and no doctor of the OPD is free: each is with another patient.
    doctor_busy: bool = False

    def public(self) -> dict[str, object]:
        return {
            "token": self.token.public(),
            "opd": {"id": self.opd.id, "code": self.opd.code, "name": self.opd.name},
            "status": self.token.status.value,
            "position": self.position,
            "eta_s": None if self.eta_s is None else round(self.eta_s),
            "doctor_busy": self.doctor_busy,
            "call_ready": self.token.status is TokenStatus.CALLED,
            "mode": self.consultation.mode.value if self.consultation else None,
        }


def owned_patient(conn: sqlite3.Connection, patient_id: str, mobile: str) -> Patient:
    """The patient, if registered under this mobile number; otherwise refuse."""
    try:
        patient = st.get_patient(conn, patient_id)
    except st.NotFound:
        raise NotFoundError("no_patient", N_("This page does not exist.")) from None
    if patient.mobile != mobile:
        raise Forbidden("not_yours", N_("This record belongs to someone else."))
    return patient


def owned_token(conn: sqlite3.Connection, token_id: int, mobile: str) -> Token:
    try:
        token = st.get_token(conn, token_id)
    except st.NotFound:
        raise NotFoundError("no_token", N_("This page does not exist.")) from None
    owned_patient(conn, token.patient_id, mobile)
    return token


def opd_is_open(opd: Opd, now: dt.datetime) -> bool:
    hhmm = now.strftime("%H:%M")
    return opd.opens <= hhmm <= opd.closes


class Queues:
    def __init__(
        self,
        db: Database,
        events: QueueEvents,
        secret: str,
        sms: SmsGateway,
        language: Callable[[str], Language],
        base_url: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.db = db
        self.events = events
        self.secret = secret
        self.sms = sms
        self.language = language
        self.base_url = base_url

    async def book(
        self, mobile: str, patient_id: str, opd_id: int, language: str, follow_up: bool,
        doctor_id: int | None = None,
    ) -> Token:
        """A token for today in this OPD, sent by SMS with a link that logs the patient straight in.

        A follow-up asks for the doctor seen last in this OPD, or for `doctor_id`, who must be one the patient
        has seen here (routing then offers the token to that doctor first)."""
        if language not in LANGUAGES:
            raise Invalid({"language": N_("Choose a language.")})
        secret = security.new_secret()
        today = clinic_time.today()

        def book(conn: sqlite3.Connection) -> tuple[Token, Opd]:
            owned_patient(conn, patient_id, mobile)
            try:
                opd = st.get_opd(conn, opd_id)
            except st.NotFound:
                raise Invalid({"opd": N_("Choose an OPD.")}) from None
            if opd.is_hub:  # hubs take referrals from health workers, not patients' own bookings
                raise Invalid({"opd": N_("Choose an OPD.")})
            for t in st.tokens_for_patients(conn, [patient_id]):
                if t.opd_id == opd.id and t.day == today and t.status in LIVE_TOKEN_STATUSES:
                    raise Conflict("token_exists", N_("You already have token %(number)s for this OPD today."),
                                   number=t.number)
            if st.count_live_tokens(conn, opd.id, today) >= opd.capacity:
                raise Conflict("opd_full", N_("This OPD is full today. Please try tomorrow."))
            want = st.last_doctor_of_patient(conn, patient_id, opd.id) if follow_up else None
            if follow_up and doctor_id is not None:
                seen = {c.doctor_id for c in st.consultations_of_patient(conn, patient_id)
                        if c.opd_id == opd.id and c.status is ConsultStatus.ENDED}
                if doctor_id not in seen:
                    raise Invalid({"doctor": N_("Choose a doctor you saw before in this OPD.")})
                want = doctor_id
            token = st.add_token(
                conn, opd=opd, patient_id=patient_id, day=today, language=language,
                visit=Visit.FOLLOW_UP if follow_up else Visit.FIRST, want_doctor_id=want,
                login_secret_hash=security.keyed_hash(self.secret, "token-link", secret),
            )
            return token, opd

        token, opd = await self.db.run(book)
        link = f"{self.base_url()}/portal/t/{token.id}?k={secret}"
        text = self.language(language).gettext("Vaidya token %(number)s, %(opd)s, patient ID %(patient)s. Open: %(link)s")
        try:
            await self.sms.send(mobile, text % {"number": token.number, "opd": opd.name, "patient": patient_id,
                                                "link": link})
        except SmsError as exc:  # the token stands: the patient is logged in and sees it on screen
            log.warning("token %s booked, but its SMS was not sent: %s", token.number, exc)
        return token

    async def expire_past_days(self, today: dt.date | None = None) -> int:
        """Tokens of earlier days that never reached a doctor leave the queues (at start and in the sweep)."""
        return await self.db.run(lambda conn: st.expire_old_tokens(conn, today or clinic_time.today()))

    async def login_by_link(self, token_id: int, secret: str) -> str:
        """The mobile number behind a token's SMS link, while the token is alive."""
        def check(conn: sqlite3.Connection) -> str:
            try:
                token = st.get_token(conn, token_id)
            except st.NotFound:
                token = None
            expected = security.keyed_hash(self.secret, "token-link", secret or "")
            if token is None or not token.login_secret_hash or not security.same(token.login_secret_hash, expected):
                raise Forbidden("bad_link", N_("This link is not valid. Log in with your mobile number."))
            if token.status not in LIVE_TOKEN_STATUSES:
                raise Forbidden("link_expired", N_("This token has ended."))
            return st.get_patient(conn, token.patient_id).mobile

        return await self.db.run(check)

    async def join(self, mobile: str, token_id: int) -> Token:
        """Put a booked token at the end of its OPD's queue."""
        now = self.clock()

        def join(conn: sqlite3.Connection) -> Token:
            token = owned_token(conn, token_id, mobile)
            if token.status is TokenStatus.WAITING:
                return token
            if token.status is not TokenStatus.BOOKED:
                raise Conflict("not_booked", N_("This token cannot join the queue now."))
            if token.day != clinic_time.today():
                raise Conflict("old_token", N_("This token was for another day."))
            opd = st.get_opd(conn, token.opd_id)
            if not opd_is_open(opd, clinic_time.now()):
                raise PortalError("opd_closed", N_("This OPD is closed now. It opens at %(opens)s."),
                                  opens=dt.time.fromisoformat(opd.opens))
            return st.update_token(conn, token.id, status=TokenStatus.WAITING, queued_at=now)

        token = await self.db.run(join)
        await self.events.changed(token.opd_id)
        return token

    async def state(self, token_id: int, mobile: str | None = None) -> QueueState:
        """The token's place in its queue; with `mobile`, only for that number's own tokens."""
        def read(conn: sqlite3.Connection) -> QueueState:
            token = owned_token(conn, token_id, mobile) if mobile is not None else st.get_token(conn, token_id)
            return queue_state(conn, token, now)

        now = self.clock()
        return await self.db.run(read)


def queue_state(conn: sqlite3.Connection, token: Token, now: float) -> QueueState:
    """Where the token stands at `now`: its place, its wait (docs: portal/eta.py) and whether every doctor is busy."""
    opd = st.get_opd(conn, token.opd_id)
    position = wait = None
    busy = False
    if token.status is TokenStatus.WAITING:
        waiting = st.waiting_tokens(conn, opd.id)
        position = next(i for i, t in enumerate(waiting, start=1) if t.id == token.id)
        loads = eta.doctor_loads(conn, opd.id, now)
        wait = eta.wait_s(position - 1, loads)
        busy = bool(loads) and all(d.busy_for_s > 0 for d in loads)
    consultation = st.get_consultation(conn, token.consultation_id) if token.consultation_id else None
    return QueueState(token, opd, position, wait, consultation, busy)
