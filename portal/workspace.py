"""The doctor's consult workspace as data: one consultation with its patient's summary, beside the doctor's
other open consultations. A read model (no changes except the audit entry the summary writes)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import storage as st
from .consults import own_consultation
from .dashboard import OpenRoom, PatientSummary, open_rooms, patient_summary
from .errors import Forbidden, NotFoundError
from .i18n import N_
from .models import Consultation, Opd, Token


@dataclass(frozen=True)
class Workspace:
    consultation: Consultation
    token: Token
    opd: Opd
    summary: PatientSummary
    rooms: list[OpenRoom]  # every open consultation of the doctor, this one included

    @property
    def earlier(self) -> list[Consultation]:
        """The patient's other consultations (this one is the page itself)."""
        return [c for c in self.summary.consultations if c.id != self.consultation.id]


def consult_workspace(conn: sqlite3.Connection, doctor_id: int, consultation_id: int, client: str) -> Workspace:
    """The workspace of one of the doctor's consultations; anyone else's is as if it did not exist."""
    try:
        c = own_consultation(conn, doctor_id, consultation_id)
    except Forbidden:
        raise NotFoundError("no_consultation", N_("This page does not exist.")) from None
    summary = patient_summary(conn, doctor_id, c.patient_id, client)
    return Workspace(c, st.get_token(conn, c.token_id), st.get_opd(conn, c.opd_id), summary,
                     open_rooms(conn, doctor_id))
