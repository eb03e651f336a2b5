"""A called token is flagged wherever the patient looks (family page, token page, visits page) and by SMS;
"your turn is near" goes out by SMS once per token at the configured place in line; a follow-up is booked
with the doctor of an earlier consultation from the visits page."""

from __future__ import annotations

import re

import pytest

from portal import storage as st
from tests.portal.conftest import Server
from tests.portal.test_doctor import admit, queued_patient

NEAR = "is near"
CALLED = "the doctor is calling you now"


@pytest.fixture
async def near_two(aiohttp_server, aiohttp_client, tmp_path, clinic) -> Server:
    """The server with "your turn is near" at the second place in line."""
    return await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True, near_turn_sms_position=2).start()


async def texts(server: Server, mobile: str, words: str) -> list[str]:
    await server.portal.events.drain()  # the SMS go out in the queue listener's own task
    return [body for body in server.sms_to(mobile) if words in body]


async def test_the_turn_is_near_sms_goes_once_per_token_at_the_configured_place(near_two, clinic):
    server = near_two
    mobiles = [f"900000000{i}" for i in range(4)]
    for mobile in mobiles:
        await queued_patient(server, mobile, clinic.eye, "en")
    assert [len(await texts(server, m, NEAR)) for m in mobiles] == [1, 1, 0, 0]
    doctor = await server.browser()
    await doctor.staff_login("dr-eye")
    _, body = await admit(doctor, clinic.eye)
    assert [len(await texts(server, m, NEAR)) for m in mobiles] == [1, 1, 1, 0]  # the third moved up to 2nd
    cid = body["consultation"]["id"]
    resp, _ = await doctor.api("POST", f"/portal/api/doctor/consultations/{cid}/missed")
    assert resp.status == 200  # the first patient goes back to the end of the line: no second "near"
    _, body = await admit(doctor, clinic.eye)
    assert [len(await texts(server, m, NEAR)) for m in mobiles] == [1, 1, 1, 1]
    near = (await texts(server, mobiles[2], NEAR))[0]
    assert "EYE-003" in near and "Eye OPD" in near and f"{server.config.base_url}/portal/tokens/" in near


async def test_a_called_patient_gets_an_sms_for_each_call_in_their_language(server, clinic):
    patient, _, tid = await queued_patient(server, "9000000001", clinic.eye, "hi")
    doctor = await server.browser()
    await doctor.staff_login("dr-eye")
    _, body = await admit(doctor, clinic.eye)
    called = await texts(server, "9000000001", f"/portal/tokens/{tid}")
    assert len(called) == 2  # "near" on joining (position 1 of 3), then the call
    assert called[-1].startswith("वैद्य: टोकन EYE-001 के लिए डॉक्टर अभी आपको बुला रहे हैं")
    await doctor.api("POST", f"/portal/api/doctor/consultations/{body['consultation']['id']}/missed")
    await admit(doctor, clinic.eye)
    assert len(await texts(server, "9000000001", "बुला रहे हैं")) == 2  # a second call, a second SMS


async def test_with_position_zero_no_near_sms_is_sent(aiohttp_server, aiohttp_client, tmp_path, clinic):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True, near_turn_sms_position=0).start()
    await queued_patient(server, "9000000001", clinic.eye, "en")
    assert await texts(server, "9000000001", NEAR) == []


async def test_a_bad_near_position_is_refused_at_start(tmp_path):
    from signaling.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="near_turn_sms_position"):
        load_config(None, {"data_dir": tmp_path, "near_turn_sms_position": -1}).validate()


async def test_the_family_and_token_pages_flag_a_called_token_with_its_call_button(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.eye, "en")
    await patient.register("Ravi", language="en")  # a second family member, not called
    _, page = await patient.get("/portal/me")
    assert 'class="token-card"' in page and "called" not in re.findall(r'class="token-card[^"]*"', page)[0]
    doctor = await server.browser()
    await doctor.staff_login("dr-eye")
    await admit(doctor, clinic.eye)
    _, page = await patient.get("/portal/me")
    card = re.search(r'<li class="token-card called" data-status="called">.*?</li>', page, re.S)
    assert card, "the called token stands out on the family page"
    assert "The doctor is calling you now" in card.group(0)
    assert f'action="/portal/tokens/{tid}/call"' in card.group(0)
    _, page = await patient.get(f"/portal/tokens/{tid}")
    assert 'class="live called"' in page
    _, page = await patient.get(f"/portal/patients/{pid}/record")
    assert '<li class="token-card called"' in page


async def test_the_visits_page_books_a_follow_up_with_the_doctor_seen_before(server, clinic):
    patient, pid, tid = await queued_patient(server, "9000000001", clinic.gen, "hi")
    tamil = await server.browser()
    await tamil.staff_login("dr-tamil")
    _, body = await admit(tamil, clinic.gen, tid)
    await tamil.api("POST", f"/portal/api/doctor/consultations/{body['consultation']['id']}/end")
    _, page = await patient.get(f"/portal/patients/{pid}/record")
    assert "Dr dr-tamil" in page and 'name="doctor" value="%d"' % clinic.doctors["dr-tamil"] in page
    assert 'class="back" href="/portal/me"' in page
    form = {"opd": str(clinic.gen), "language": "hi", "follow_up": "yes", "doctor": str(clinic.doctors["dr-hindi"])}
    resp, _ = await patient.post(f"/portal/patients/{pid}/book", form)
    assert resp.status == 400, "a doctor the patient never saw here is refused"
    assert len(await server.portal.db.run(lambda c: st.tokens_for_patients(c, [pid]))) == 1
    resp, _ = await patient.post(f"/portal/patients/{pid}/book", {**form, "doctor": str(clinic.doctors["dr-tamil"])})
    assert resp.status == 303
    new = int(resp.headers["Location"].rsplit("/", 1)[1])
    token = await server.portal.db.run(lambda c: st.get_token(c, new))
    assert (token.visit.value, token.want_doctor_id) == ("follow_up", clinic.doctors["dr-tamil"])
