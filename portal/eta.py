"""How long a waiting patient will wait: the consultations in progress, then everyone ahead of them.

Each doctor of the OPD has a typical consultation length: the median of their recent ended consultations
in this OPD, else the OPD's, once there are `MIN_SAMPLES` of them (a median ignores the one 40-minute
case and the one 30-second call that dropped); until then `PRIOR_S`, an ordinary general-OPD teleconsult.
No estimate goes under `FLOOR_S`: a run of very short calls must not tell the third in line "1 minute".

A doctor in a consultation is free after what is left of their typical length (at least `OVERRUN_S` once
it has run past it). The patients ahead go, one by one, to whichever doctor is free first; the patient's
wait is when the next doctor is free after that. So position 3 waits about twice as long as position 2
behind one doctor, and "the doctor is with another patient" is true exactly when no doctor is free now.
"""

from __future__ import annotations

import heapq
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from . import storage as st

#: The assumed length of a consultation until enough have ended (8 minutes: our assumption for a short
#: general-OPD teleconsult, replaced by the OPD's own median as soon as there is one to trust).
PRIOR_S = 8 * 60.0
#: No typical length below this, whatever the history (3 minutes).
FLOOR_S = 3 * 60.0
#: Ended consultations needed before their median replaces the prior.
MIN_SAMPLES = 5
#: How many of the latest ended consultations the median looks at.
RECENT = 20
#: What is left of a consultation that has run past its typical length (2 minutes).
OVERRUN_S = 2 * 60.0


def typical_length(durations: Sequence[float]) -> float:
    """The median of the durations with a floor; the prior while there are too few to trust."""
    if len(durations) < MIN_SAMPLES:
        return PRIOR_S
    return max(FLOOR_S, statistics.median(durations))


def remaining(typical_s: float, elapsed_s: float) -> float:
    """What is probably left of a consultation that has run `elapsed_s` so far."""
    return max(typical_s - elapsed_s, OVERRUN_S)


@dataclass(frozen=True)
class DoctorLoad:
    """One doctor as the estimate sees them: their typical length, and how long until they are free."""

    typical_s: float
    busy_for_s: float = 0.0


def wait_s(ahead: int, doctors: Sequence[DoctorLoad]) -> float:
    """Seconds until a doctor is free for the patient with `ahead` people in front of them."""
    if not doctors:
        doctors = [DoctorLoad(PRIOR_S)]
    free = [(d.busy_for_s, i) for i, d in enumerate(doctors)]
    heapq.heapify(free)
    for _ in range(ahead):
        at, i = heapq.heappop(free)
        heapq.heappush(free, (at + doctors[i].typical_s, i))
    return free[0][0]


def doctor_loads(conn: sqlite3.Connection, opd_id: int, now: float) -> list[DoctorLoad]:
    """The OPD's active doctors, each with their typical length here and what is left of their current call."""
    opd_durations = st.recent_durations(conn, opd_id, limit=RECENT)
    loads = []
    for doctor in st.doctors_of_opd(conn, opd_id):
        own = st.recent_durations(conn, opd_id, limit=RECENT, doctor_id=doctor.id)
        typical = typical_length(own if len(own) >= MIN_SAMPLES else opd_durations)
        busy = [remaining(typical, now - (c.answered_at or c.started_at))
                for c in st.active_consultations(conn, doctor.id)]
        loads.append(DoctorLoad(typical, max(busy, default=0.0)))
    return loads
