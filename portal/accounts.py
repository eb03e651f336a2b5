"""Who someone is: mobile number + OTP for patients, password for staff, and the sessions that follow.

OTPs: 6 digits, stored as a keyed hash, valid 5 minutes; how many are sent and guessed: portal/otp.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import security
from . import storage as st
from .db import Database
from .errors import Forbidden, Invalid, Unavailable
from .i18n import N_, Language
from .otp import OtpCodes
from .pharmacists import find_pharmacist
from .sms import SmsError, SmsGateway

log = logging.getLogger(__name__)

SESSION_TTL_S = 12 * 3600

_MOBILE = re.compile(r"^[6-9]\d{9}$")


def normalize_mobile(raw: str) -> str:
    """A 10-digit Indian mobile number from what people type (+91, spaces, dashes, a leading 0)."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+91"):
        digits = digits[3:]
    elif len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if not _MOBILE.match(digits):
        raise Invalid({"mobile": N_("Enter a 10-digit mobile number.")})
    return digits


@dataclass(frozen=True)
class Session:
    kind: str  # "patient" (subject: the mobile number), "doctor", "health_worker" or "pharmacist" (the id)
    subject: str
    expires_at: float

    @property
    def identity(self) -> str:
        prefix = {"patient": "mobile", "doctor": "doctor", "health_worker": "hw", "pharmacist": "pharmacist"}
        return prefix[self.kind] + ":" + self.subject


class Accounts:
    def __init__(self, db: Database, secret: str, sms: SmsGateway, language: Callable[[str], Language],
                 base_url: Callable[[], str]) -> None:
        self.db = db
        self.base_url = base_url
        self.secret = secret
        self.sms = sms
        self.language = language
        self.otp = OtpCodes(secret)

    # ---- OTP ----

    async def send_otp(self, raw_mobile: str, client: str, lang: str, browser_id: str = "") -> str:
        """Send a fresh code to the number (limits: portal/otp.py); return the normalized number.

        `client` is the address the limits count (signaling/client_address.py); `browser_id` the browser that
        asks, whose own tries on this code nobody else can use up."""
        mobile = normalize_mobile(raw_mobile)
        code, link_secret = security.new_otp(), security.new_secret()
        now = time.time()
        code_id = await self.db.run(lambda conn: self.otp.record_send(conn, mobile, client, browser_id, code, now,
                                                                      link_secret))
        link = f"{self.base_url()}/portal/l/{code_id}?k={link_secret}"
        text = self.language(lang).gettext(
            "Your Vaidya code is %(code)s. It is valid for 5 minutes. Or log in with this link: %(link)s")
        try:
            await self.sms.send(mobile, text % {"code": code, "link": link})
        except SmsError as exc:
            log.warning("OTP SMS to %s not sent: %s", mobile, exc)
            raise Unavailable("sms_failed", N_("We could not send the SMS. Please try again in a minute.")) from None
        return mobile

    async def verify_otp(self, raw_mobile: str, code: str, browser_id: str = "") -> str:
        """Check the code; on success the number's codes are used up and the normalized number returned."""
        mobile = normalize_mobile(raw_mobile)
        now = time.time()
        error = await self.db.run(lambda conn: self.otp.check(conn, mobile, code, browser_id, now))
        if error is not None:
            raise error
        return mobile

    async def otp_link_holder(self, code_id: int, link_secret: str) -> str:
        """The number an OTP SMS link logs in as, without using the link up (a link preview may open it)."""
        mobile = await self.db.run(lambda conn: self.otp.link_holder(conn, code_id, link_secret, time.time()))
        if mobile is None:
            raise Forbidden("bad_link", N_("This link is not valid. Log in with your mobile number."))
        return mobile

    async def redeem_otp_link(self, code_id: int, link_secret: str) -> str:
        """Log in by an OTP SMS link: proof that one holds the phone, so no guess limit applies."""
        mobile = await self.db.run(lambda conn: self.otp.redeem_link(conn, code_id, link_secret, time.time()))
        if mobile is None:
            raise Forbidden("bad_link", N_("This link is not valid. Log in with your mobile number."))
        return mobile

    # ---- sessions ----

    async def start_session(self, kind: str, subject: str) -> str:
        raw = security.new_secret()
        now = time.time()
        id_hash = security.keyed_hash(self.secret, "session", raw)

        def save(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT INTO sessions (id_hash, kind, subject, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (id_hash, kind, subject, now, now + SESSION_TTL_S),
            )

        await self.db.run(save)
        return raw

    async def session(self, raw: str | None) -> Session | None:
        if not raw:
            return None
        id_hash = security.keyed_hash(self.secret, "session", raw)
        row = await self.db.run(
            lambda conn: conn.execute("SELECT * FROM sessions WHERE id_hash = ?", (id_hash,)).fetchone()
        )
        if row is None or row["expires_at"] < time.time():
            return None
        return Session(kind=row["kind"], subject=row["subject"], expires_at=row["expires_at"])

    async def end_session(self, raw: str | None) -> None:
        if raw:
            id_hash = security.keyed_hash(self.secret, "session", raw)
            await self.db.run(lambda conn: conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,)))

    # ---- staff ----

    async def staff_login(self, username: str, password: str) -> tuple[str, int]:
        """("doctor" | "health_worker" | "pharmacist", id) for a right password; the same time is spent for an
        unknown name."""
        username = (username or "").strip().lower()

        def find(conn: sqlite3.Connection) -> tuple[str, int, str] | None:
            doctor = st.find_doctor(conn, username)
            if doctor:
                return "doctor", doctor.id, doctor.password_hash
            hw = st.find_health_worker(conn, username)
            if hw:
                return "health_worker", hw.id, hw.password_hash
            chemist = find_pharmacist(conn, username)
            if chemist:
                return "pharmacist", chemist.id, chemist.password_hash
            return None

        found = await self.db.run(find)
        stored = found[2] if found else None
        ok = await asyncio.get_running_loop().run_in_executor(None, security.verify_password, stored, password or "")
        if not ok or found is None:
            raise Forbidden("login_failed", N_("The user name or password is not right."))
        return found[0], found[1]
