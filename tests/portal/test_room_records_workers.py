"""With worker processes (`vaidya serve --workers 1`, the room in another process than the portal), a
consultation room's chat and photos still land in the portal's SQLite file and come back on rejoin."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import pytest

from portal import db
from portal import storage as st
from portal.models import Consent, ConsentHow, ConsultMode, Sex, StartedBy
from portal.room_records import room_record
from tests.helpers.photo_upload import upload_photo
from tests.helpers.raw_socket import RawSocket
from tests.helpers.server import ServerProcess, token
from tests.portal.conftest import make_clinic
from tests.portal.test_room_records import jpeg

pytestmark = pytest.mark.timeout(90)


def seeded_consultation(data_dir) -> tuple[int, str, str]:
    """(consultation id, room, patient identity) written into the file before the server starts."""
    clinic = make_clinic(data_dir)
    conn = db.connect(data_dir / db.DB_FILE)
    patient = st.add_patient(conn, mobile="9000000031", name="Kamala", sex=Sex.FEMALE, state="Karnataka",
                             district="Kolar", language="kn", age_years=52)
    opd = st.get_opd(conn, clinic.gen)
    tok = st.add_token(conn, opd=opd, patient_id=patient.id, day=dt.date.today(), language="kn")
    who = f"patient:{patient.id}"
    c = st.add_consultation(conn, token=tok, doctor_id=clinic.doctors["dr-hindi"], room="c-workers1",
                            mode=ConsultMode.VIDEO, started_by=StartedBy.PATIENT, started_by_id=who,
                            consent=Consent(who=who, at=time.time(), how=ConsentHow.IMPLIED))
    conn.close()
    return c.id, c.room, who


async def test_a_worker_keeps_a_consultations_chat_and_photos_in_the_portals_file(tmp_path) -> None:
    cid, room, patient_id = seeded_consultation(tmp_path)
    server = ServerProcess(tmp_path, extra_args=("--workers", "1"))
    try:
        doctor, patient = await RawSocket.open(server.ws_url), await RawSocket.open(server.ws_url)
        await doctor.join(room, token(room, "doctor:1", "doctor"))
        await patient.join(room, token(room, patient_id))
        await patient.send({"type": "chat", "room": room, "text": "ಕಾಲು ನೋವು"})
        assert (await doctor.next("chat"))["message"]["text"] == "ಕಾಲು ನೋವು"
        photo = jpeg(160, 120)
        status, body, _ = await upload_photo(server.url, room, token(room, patient_id), photo)
        assert status == 201, body
        await patient.send({"type": "photo-sent", "room": room, "photo_id": body["photo"]["photo_id"]})
        assert (await doctor.next("photo"))["photo"]["sha256"] == hashlib.sha256(photo).hexdigest()
        await patient.close()
        again = await RawSocket.open(server.ws_url)
        joined = await again.join(room, token(room, patient_id))
        assert [line["text"] for line in joined["chat"]] == ["ಕಾಲು ನೋವು"]
        await again.close()
        await doctor.close()
    finally:
        server.stop()
    conn = db.connect(tmp_path / db.DB_FILE)
    record = room_record(conn, cid)
    conn.close()
    assert [line.text for line in record.chat] == ["ಕಾಲು ನೋವು"]
    assert [p.sha256 for p, _ in record.photos] == [hashlib.sha256(photo).hexdigest()]
