"""Waiting times that tell the truth: the consultation in progress counts, recent durations decide through
their median (with a floor, and a prior until there are enough), and a busy doctor is said to be busy.

The durations come from real consultations: the portal's own Queues and Consults over a real SQLite file,
with only the clock moved by the test."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from portal import eta
from portal import storage as st
from portal.consults import Consults
from portal.db import DB_FILE, Database
from portal.events import QueueEvents
from portal.i18n import Catalogs
from portal.models import Sex
from portal.queue import Queues
from portal.sms import LogSmsGateway
from tests.portal.test_doctor import admit, queued_patient

MIN = 60.0


@dataclass
class Clock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Desk:
    """The portal's queue services on the test clinic's database file, sharing one clock."""

    db: Database
    clock: Clock
    queues: Queues
    consults: Consults
    served: int = 0

    async def queued(self, opd: int, n: int = 1) -> list[int]:
        """n new patients (English speakers) in the OPD's queue; their token ids, first in line first."""
        tokens = []
        for _ in range(n):
            self.served += 1
            mobile = f"98{self.served:08d}"
            patient = await self.db.run(lambda conn: st.add_patient(
                conn, mobile=mobile, name="P", sex=Sex.FEMALE, state="Karnataka", district="Mysuru",
                language="en", age_years=40))
            token = await self.queues.book(mobile, patient.id, opd, "en", follow_up=False)
            await self.queues.join(mobile, token.id)
            self.clock.advance(1)
            tokens.append(token.id)
        return tokens

    async def consult(self, doctor: int, opd: int, minutes: float) -> None:
        """The doctor admits the next patient, who answers; they talk for `minutes`; the doctor ends it."""
        c = await self.consults.admit(doctor, opd)
        await self.consults.answer(c.token_id)
        self.clock.advance(minutes * MIN)
        await self.consults.end(doctor, c.id)

    async def wait(self, token: int) -> float:
        state = await self.queues.state(token)
        assert state.eta_s is not None
        return state.eta_s


@pytest.fixture
async def desk(clinic, tmp_path):
    db = Database(tmp_path / DB_FILE)
    await db.open()
    clock, events, sms = Clock(), QueueEvents(), LogSmsGateway()
    queues = Queues(db, events, "s" * 32, sms, Catalogs().get, lambda: "http://clinic.example", clock)
    yield Desk(db, clock, queues, Consults(db, events, "s" * 32, clock))
    await db.close()


def test_the_next_free_doctor_takes_each_patient_ahead_in_turn():
    one = [eta.DoctorLoad(typical_s=300, busy_for_s=100)]
    assert [eta.wait_s(ahead, one) for ahead in range(3)] == [100, 400, 700]
    two = [eta.DoctorLoad(300, 100), eta.DoctorLoad(600, 0)]
    assert [eta.wait_s(ahead, two) for ahead in range(4)] == [0, 100, 400, 600]
    assert eta.wait_s(1, []) == eta.PRIOR_S  # no doctor on the roster: the prior, never zero


def test_the_typical_length_is_a_floored_median_and_the_prior_until_enough_samples():
    assert eta.typical_length([30.0] * (eta.MIN_SAMPLES - 1)) == eta.PRIOR_S
    assert eta.typical_length([30.0] * eta.MIN_SAMPLES) == eta.FLOOR_S
    assert eta.typical_length([240, 300, 360, 2400, 300]) == 300  # one long case does not drag it
    assert eta.remaining(480, 120) == 360 and eta.remaining(480, 1200) == eta.OVERRUN_S


async def test_position_one_waits_for_the_consultation_in_progress_and_hears_the_doctor_is_busy(desk, clinic):
    doctor = clinic.doctors["dr-eye"]  # the eye OPD's only doctor
    first, second, third = await desk.queued(clinic.eye, 3)
    assert (await desk.queues.state(first)).doctor_busy is False
    assert await desk.wait(first) == 0
    c = await desk.consults.admit(doctor, clinic.eye)
    await desk.consults.answer(c.token_id)
    desk.clock.advance(2 * MIN)
    state = await desk.queues.state(second)
    assert state.position == 1 and state.doctor_busy
    assert state.eta_s == eta.PRIOR_S - 2 * MIN  # what is left of the consult in progress
    assert await desk.wait(third) == eta.PRIOR_S - 2 * MIN + eta.PRIOR_S
    await desk.consults.end(doctor, c.id)
    state = await desk.queues.state(second)
    assert (state.doctor_busy, state.eta_s) == (False, 0)


async def test_after_three_short_consults_position_three_still_waits_two_consults(desk, clinic):
    doctor = clinic.doctors["dr-eye"]
    await desk.queued(clinic.eye, 3)
    for _ in range(3):
        await desk.consult(doctor, clinic.eye, minutes=0.5)
    third = (await desk.queued(clinic.eye, 3))[2]
    assert await desk.wait(third) == 2 * eta.PRIOR_S  # three samples are too few: the prior holds


async def test_enough_consults_give_their_median_not_their_mean(desk, clinic):
    doctor = clinic.doctors["dr-eye"]
    await desk.queued(clinic.eye, 5)
    for minutes in (4, 5, 6, 30, 5):
        await desk.consult(doctor, clinic.eye, minutes)
    third = (await desk.queued(clinic.eye, 3))[2]
    assert await desk.wait(third) == 2 * 5 * MIN  # the median, 5 minutes; the 30-minute case ignored


async def test_many_very_short_consults_never_bring_the_estimate_under_the_floor(desk, clinic):
    doctor = clinic.doctors["dr-eye"]
    await desk.queued(clinic.eye, 6)
    for _ in range(6):
        await desk.consult(doctor, clinic.eye, minutes=0.5)
    third = (await desk.queued(clinic.eye, 3))[2]
    assert await desk.wait(third) == 2 * eta.FLOOR_S


async def test_each_doctor_keeps_their_own_pace(desk, clinic):
    quick, slow = clinic.doctors["dr-hindi"], clinic.doctors["dr-tamil"]
    await desk.queued(clinic.gen, 10)
    for _ in range(5):
        await desk.consult(quick, clinic.gen, 4)
        await desk.consult(slow, clinic.gen, 10)
    tokens = await desk.queued(clinic.gen, 4)
    # Both free: the first two go at once, the third when the quick one is done, the fourth after that.
    assert [await desk.wait(t) for t in tokens] == [0, 0, 4 * MIN, 8 * MIN]


async def test_a_consultation_past_its_typical_length_leaves_a_little_time_not_none(desk, clinic):
    doctor = clinic.doctors["dr-eye"]
    _, waiting = await desk.queued(clinic.eye, 2)
    c = await desk.consults.admit(doctor, clinic.eye)
    await desk.consults.answer(c.token_id)
    desk.clock.advance(25 * MIN)
    assert await desk.wait(waiting) == eta.OVERRUN_S


async def test_the_live_queue_page_says_the_doctor_is_busy_and_the_wait_grows_with_the_place(server, clinic):
    """Through the WebSocket the token page listens to, in the patient's language."""
    await queued_patient(server, "9000000001", clinic.eye, "en")
    second, _, t2 = await queued_patient(server, "9000000002", clinic.eye, "en")
    third, _, t3 = await queued_patient(server, "9000000003", clinic.eye, "hi")
    await third.get("/portal/lang?l=hi&next=/portal/")
    ws = await second.client.ws_connect(f"/portal/queue/ws?token={t2}")
    first_push = await ws.receive_json(timeout=5)
    assert first_push["position"] == 2 and first_push["busy_text"] == ""
    assert first_push["eta_s"] == pytest.approx(eta.PRIOR_S, abs=5)  # the one ahead, at the prior length
    doctor = await server.browser()
    await doctor.staff_login("dr-eye")
    resp, _ = await admit(doctor, clinic.eye)
    assert resp.status == 200
    pushed = await ws.receive_json(timeout=5)
    assert pushed["position"] == 1 and pushed["doctor_busy"]
    assert pushed["busy_text"] == "The doctor is with another patient."
    assert pushed["eta_s"] == pytest.approx(eta.PRIOR_S, abs=5)
    assert pushed["wait_text"] == "Waiting time: about 8 minutes"
    await ws.close()
    behind = await third.state(t3)
    assert behind["eta_s"] == pytest.approx(2 * eta.PRIOR_S, abs=5)
    assert behind["busy_text"] == "डॉक्टर अभी दूसरे मरीज़ के साथ हैं।"
    _, html = await second.get(f"/portal/tokens/{t2}")
    assert "The doctor is with another patient." in html
