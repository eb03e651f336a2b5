"""Which waiting patient a doctor gets next. Pure: a list in, a choice out.

In queue order, a doctor takes the first patient who either asked for this doctor (a follow-up) or speaks
a language the doctor speaks. A patient whose language no doctor of the OPD speaks goes to any doctor. Nobody
waits for ever on a preference: after `LANGUAGE_WAIT_S` a patient goes to any doctor, and a request for one
doctor lapses after `SAME_DOCTOR_WAIT_S` (or at once if that doctor no longer serves the OPD).
"""

from __future__ import annotations

from collections.abc import Sequence

from .models import Doctor, Token

LANGUAGE_WAIT_S = 10 * 60
SAME_DOCTOR_WAIT_S = 20 * 60


def _waited(token: Token, now: float) -> float:
    return now - (token.queued_at or now)


def eligible(token: Token, doctor: Doctor, opd_doctors: Sequence[Doctor], now: float) -> bool:
    """May this doctor take this token now?"""
    serving = {d.id for d in opd_doctors}
    wanted = token.want_doctor_id
    if wanted is not None and wanted in serving and _waited(token, now) < SAME_DOCTOR_WAIT_S:
        return wanted == doctor.id
    if doctor.speaks(token.language):
        return True
    nobody_speaks = not any(d.speaks(token.language) for d in opd_doctors)
    return nobody_speaks or _waited(token, now) >= LANGUAGE_WAIT_S


def choose_next(
    waiting: Sequence[Token], doctor: Doctor, opd_doctors: Sequence[Doctor], now: float
) -> Token | None:
    """The first token in queue order this doctor may take."""
    for token in waiting:
        if eligible(token, doctor, opd_doctors, now):
            return token
    return None
