"""Queue SMS: "your turn is near" once a token reaches the configured place in line (once per token), and
"the doctor is calling you" when a doctor admits it (once per call), in the token's language.

A patient waiting for their turn rarely keeps the page open on a phone shared by the family; the SMS is what
brings them back. Each notice is claimed in the database before it is sent (`tokens.near_sms_at`,
`tokens.called_sms_for`), so two changes at once, or a restart, never send it twice. A gateway failure is
logged and the notice is not retried: the page still shows the state.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import storage as st
from .db import Database
from .i18n import N_, Language
from .models import TokenStatus
from .sms import SmsError, SmsGateway

log = logging.getLogger(__name__)

NEAR_TEXT = N_("Vaidya: your turn for token %(number)s (%(opd)s) is near. Keep your phone with you: %(link)s")
CALLED_TEXT = N_("Vaidya: the doctor is calling you now for token %(number)s. Open %(link)s and press Call now.")


@dataclass(frozen=True)
class Notice:
    to: str
    text: str  # an N_ message id
    language: str
    number: str
    opd: str
    token_id: int


def claim_due(conn: sqlite3.Connection, opd_id: int, near_position: int, now: float) -> list[Notice]:
    """The notices the OPD's queue now calls for, marked as sent (call inside a transaction)."""
    due: list[tuple[int, str]] = []
    if near_position > 0:
        for token in st.waiting_tokens(conn, opd_id)[:near_position]:
            if conn.execute("UPDATE tokens SET near_sms_at = ? WHERE id = ? AND near_sms_at IS NULL",
                            (now, token.id)).rowcount:
                due.append((token.id, NEAR_TEXT))
    rows = conn.execute(
        "SELECT id, consultation_id FROM tokens WHERE opd_id = ? AND status = ? AND consultation_id IS NOT NULL"
        " AND (called_sms_for IS NULL OR called_sms_for != consultation_id)",
        (opd_id, TokenStatus.CALLED.value),
    ).fetchall()
    for token_id, consultation_id in rows:
        conn.execute("UPDATE tokens SET called_sms_for = ? WHERE id = ?", (consultation_id, token_id))
        due.append((token_id, CALLED_TEXT))
    opd = st.get_opd(conn, opd_id)
    notices = []
    for token_id, text in due:
        token = st.get_token(conn, token_id)
        mobile = st.get_patient(conn, token.patient_id).mobile
        notices.append(Notice(mobile, text, token.language, token.number, opd.name, token.id))
    return notices


class QueueNotices:
    """Listens to queue changes (QueueEvents.listen) and sends the SMS they call for."""

    def __init__(self, db: Database, sms: SmsGateway, language: Callable[[str], Language],
                 base_url: Callable[[], str], near_position: int) -> None:
        self.db = db
        self.sms = sms
        self.language = language
        self.base_url = base_url
        self.near_position = near_position

    async def opd_changed(self, opd_id: int) -> None:
        now = time.time()
        notices = await self.db.run(lambda conn: claim_due(conn, opd_id, self.near_position, now))
        for notice in notices:
            text = self.language(notice.language).gettext(notice.text) % {
                "number": notice.number, "opd": notice.opd,
                "link": f"{self.base_url()}/portal/tokens/{notice.token_id}"}
            try:
                await self.sms.send(notice.to, text)
            except SmsError as exc:
                log.warning("queue SMS for token %s not sent: %s", notice.number, exc)
