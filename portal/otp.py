"""One-time codes for patient login: how many may be sent, to whom, and who may guess how often.

The limits are counted in the database (one records node serves the portal, docs/scale.md), so a restart
resets none of them. Sizing and the reasoning behind it: docs/security.md, "OTP limits".

- **Sends.** One number gets at most `SENDS_PER_NUMBER_PER_CLIENT` codes per window from any one address
  and `SENDS_PER_NUMBER` from all addresses together (a cap on SMS bombing); one address may ask for
  `SENDS_PER_CLIENT` codes an hour — sized for carrier-grade NAT, where one public address carries
  hundreds of subscribers; all sends together stop at `SENDS_PER_MINUTE` (a circuit breaker for the SMS
  bill and the gateway). Every window slides and is at most 15 minutes for one number: a lock-out that
  others cause lasts at most that long after they stop.
- **Guesses.** Each code remembers the browser that asked for it. That browser has `TRIES_PER_CODE`
  wrong guesses on its own code; every other browser together has `OTHER_MISSES_PER_NUMBER` wrong
  guesses on the number per window. So someone else's bad guesses never use up the patient's own
  tries: the patient who asked for the latest code and types it in is let in. Codes stay valid for
  `CODE_TTL_S` even when a newer one is sent, so a send forced by someone else does not void the
  code the patient is typing.
- **Proof of possession.** Every code's SMS also carries a login link with a 32-byte secret, valid
  `LINK_TTL_S`, as long as a number's send window: whenever others have spent a number's sends, the
  latest of those sends is less than a window old, so its link (delivered to the owner's phone, whoever
  asked for it) still logs the owner in. Nobody can guess it, so no limit applies to it, and opening it
  only shows a button: an SMS app's link preview does not use it up.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import security
from .errors import Invalid, PortalError, TooMany, Unavailable
from .i18n import N_

CODE_TTL_S = 300
TRIES_PER_CODE = 5
NUMBER_WINDOW_S = 15 * 60
SENDS_PER_NUMBER_PER_CLIENT = 3
SENDS_PER_NUMBER = 5
OTHER_MISSES_PER_NUMBER = 5
CLIENT_WINDOW_S = 60 * 60
SENDS_PER_CLIENT = 300
SENDS_PER_MINUTE = 120
LINK_TTL_S = NUMBER_WINDOW_S

_TOO_MANY_SENDS = N_("Too many codes were sent. Please wait 15 minutes.")
_LOCKED = N_("Too many wrong codes. Ask for a new code.")


def _count(conn: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(conn.execute(sql, args).fetchone()[0])


@dataclass(frozen=True)
class OtpCodes:
    """The code table and its limits, used inside the database thread (`Database.run`)."""

    secret: str

    def requester(self, browser_id: str) -> str:
        """The browser as stored: a keyed hash, so the table holds no usable cookie."""
        return security.keyed_hash(self.secret, "otp-browser", browser_id)

    def record_send(self, conn: sqlite3.Connection, mobile: str, client: str, browser_id: str, code: str,
                    now: float, link_secret: str = "") -> int:
        """Check every send limit, then store the new code (and its SMS link's secret); returns the code's id
        (the link names it). Raises TooMany / Unavailable and stores nothing."""
        conn.execute("DELETE FROM otp_sends WHERE at < ?", (now - CLIENT_WINDOW_S,))
        conn.execute("DELETE FROM otp_codes WHERE expires_at < ? AND link_expires_at < ?", (now, now))
        conn.execute("DELETE FROM otp_misses WHERE at < ?", (now - NUMBER_WINDOW_S,))
        if _count(conn, "SELECT COUNT(*) FROM otp_sends WHERE at > ?", now - 60) >= SENDS_PER_MINUTE:
            raise Unavailable("sms_busy", N_("We could not send the SMS. Please try again in a minute."))
        since = now - NUMBER_WINDOW_S
        if (_count(conn, "SELECT COUNT(*) FROM otp_sends WHERE mobile = ? AND at > ?", mobile, since)
                >= SENDS_PER_NUMBER
                or _count(conn, "SELECT COUNT(*) FROM otp_sends WHERE mobile = ? AND client = ? AND at > ?",
                          mobile, client, since) >= SENDS_PER_NUMBER_PER_CLIENT
                or _count(conn, "SELECT COUNT(*) FROM otp_sends WHERE client = ? AND at > ?",
                          client, now - CLIENT_WINDOW_S) >= SENDS_PER_CLIENT):
            raise TooMany("otp_resend_limit", _TOO_MANY_SENDS)
        conn.execute("INSERT INTO otp_sends (mobile, client, at) VALUES (?, ?, ?)", (mobile, client, now))
        cursor = conn.execute(
            "INSERT INTO otp_codes (mobile, code_hash, requester, expires_at, link_hash, link_expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (mobile, self._hash(mobile, code), self.requester(browser_id), now + CODE_TTL_S,
             self._link_hash(link_secret) if link_secret else "", now + LINK_TTL_S if link_secret else 0.0),
        )
        return int(cursor.lastrowid)

    def link_holder(self, conn: sqlite3.Connection, code_id: int, link_secret: str, now: float) -> str | None:
        """The number whose SMS carried this live link, or None; changes nothing (a link preview may ask)."""
        row = conn.execute("SELECT mobile, link_hash FROM otp_codes WHERE id = ? AND link_expires_at >= ?",
                           (code_id, now)).fetchone()
        if row is None or not row["link_hash"] or not security.same(row["link_hash"], self._link_hash(link_secret)):
            return None
        return str(row["mobile"])

    def redeem_link(self, conn: sqlite3.Connection, code_id: int, link_secret: str, now: float) -> str | None:
        """Log in by the SMS link: the number, with every code and link of it used up; None if not live."""
        mobile = self.link_holder(conn, code_id, link_secret, now)
        if mobile is not None:
            conn.execute("DELETE FROM otp_codes WHERE mobile = ?", (mobile,))
        return mobile

    def check(self, conn: sqlite3.Connection, mobile: str, code: str, browser_id: str,
              now: float) -> PortalError | None:
        """None for a right code (every code of the number is then used up), else the error to show.

        Returned, not raised: a wrong guess must be counted, and `Database.run` rolls back on a raise.
        A browser that asked for live codes is tried against those, while it has tries left on them; any
        other browser against the latest code, while the others' budget for this number lasts. A wrong guess
        is charged to the budget it was tried under."""
        mine = self.requester(browser_id)
        live = conn.execute(
            "SELECT id, code_hash, requester, tries FROM otp_codes WHERE mobile = ? AND expires_at >= ? "
            "ORDER BY id DESC", (mobile, now)).fetchall()
        if not live:
            return Invalid({"code": N_("This code has expired. Ask for a new code.")})
        asked = [row for row in live if row["requester"] == mine]
        own = [row for row in asked if row["tries"] < TRIES_PER_CODE]
        if own:
            candidates = own
        elif asked:  # this browser used up its tries on its own codes: it gets no more elsewhere
            return TooMany("otp_locked", _LOCKED)
        elif _count(conn, "SELECT COUNT(*) FROM otp_misses WHERE mobile = ? AND at > ?",
                    mobile, now - NUMBER_WINDOW_S) < OTHER_MISSES_PER_NUMBER:
            candidates = [live[0]]
        else:
            return TooMany("otp_locked", _LOCKED)
        presented = self._hash(mobile, (code or "").strip())
        if any(security.same(row["code_hash"], presented) for row in candidates):
            conn.execute("DELETE FROM otp_codes WHERE mobile = ?", (mobile,))
            return None
        if own:
            conn.executemany("UPDATE otp_codes SET tries = tries + 1 WHERE id = ?", [(row["id"],) for row in own])
            if all(row["tries"] + 1 >= TRIES_PER_CODE for row in own):
                return TooMany("otp_locked", _LOCKED)
        else:
            conn.execute("INSERT INTO otp_misses (mobile, at) VALUES (?, ?)", (mobile, now))
        return Invalid({"code": N_("The code is not right. Try again.")})

    def _link_hash(self, link_secret: str) -> str:
        return security.keyed_hash(self.secret, "otp-link", link_secret)

    def _hash(self, mobile: str, code: str) -> str:
        return security.keyed_hash(self.secret, "otp", mobile, code)
