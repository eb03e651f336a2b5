"""A consultation's room chat and photos are kept with its record: in the SQLite file, replayed to whoever
joins (after a restart too), and shown on the doctor's consultation page."""

from __future__ import annotations

import hashlib
import io
import re

from PIL import Image

from portal import storage as st
from portal.room_records import room_record
from tests.helpers.photo_upload import upload_photo
from tests.helpers.raw_socket import RawSocket
from tests.portal.test_doctor import admit, queued_patient
from tests.portal.test_patient_flow import room_of


def jpeg(width: int = 320, height: int = 240) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


async def consultation_room(server, clinic) -> tuple[int, str, str, str, str]:
    """(consultation id, room, the patient's room link, patient token, doctor token) of an admitted patient."""
    patient, pid, tid = await queued_patient(server, "9000000021", clinic.gen, "hi", "Asha")
    doctor = await server.browser()
    await doctor.staff_login("dr-hindi")
    resp, body = await admit(doctor, clinic.gen)
    assert resp.status == 200, body
    resp, _ = await patient.post(f"/portal/tokens/{tid}/call")
    link = resp.headers["Location"]
    room, patient_jwt = room_of(link)
    _, doctor_jwt = room_of(body["room_url"])
    return body["consultation"]["id"], room, link, patient_jwt, doctor_jwt, doctor


async def test_chat_and_photos_of_a_consultation_room_are_kept_with_its_record(server, clinic) -> None:
    cid, room, link, patient_jwt, doctor_jwt, doctor = await consultation_room(server, clinic)
    assert link.endswith("&lang=hi"), "the patient's room link speaks the language of their profile"
    base = str(server.server.make_url("")).rstrip("/")
    ws_url = base.replace("http", "ws", 1) + "/ws"
    pt, dr = await RawSocket.open(ws_url), await RawSocket.open(ws_url)
    try:
        await dr.join(room, doctor_jwt)
        await pt.join(room, patient_jwt)
        await pt.send({"type": "chat", "room": room, "text": "दाने <b>दो</b> दिन से"})
        await dr.next("chat")
        await dr.send({"type": "chat", "room": room, "text": "Please send a photo"})
        await pt.next("chat")
        photo = jpeg()
        status, body, _ = await upload_photo(base, room, patient_jwt, photo)
        assert status == 201, body
        await pt.send({"type": "photo-sent", "room": room, "photo_id": body["photo"]["photo_id"]})
        told = await dr.next("photo")
        assert told["photo"]["sha256"] == hashlib.sha256(photo).hexdigest() == body["photo"]["sha256"]
    finally:
        await pt.close()
        await dr.close()

    record = await server.portal.db.run(lambda conn: room_record(conn, cid))
    assert [(line.role, line.text) for line in record.chat] == [("patient", "दाने <b>दो</b> दिन से"),
                                                               ("doctor", "Please send a photo")]
    [(kept, upload)] = record.photos
    assert server.portal.uploads.path_of(upload).read_bytes() == photo
    assert upload.content_type == "image/jpeg" and kept.role == "patient"

    pid = (await server.portal.db.run(lambda conn: st.get_consultation(conn, cid))).patient_id
    resp, summary = await doctor.get(f"/portal/doctor/patients/{pid}")
    assert f'href="/portal/doctor/consultations/{cid}/record"' in summary, "the patient summary links the consultation"
    resp, page = await doctor.get(f"/portal/doctor/consultations/{cid}/record")
    assert resp.status == 200
    assert "दाने &lt;b&gt;दो&lt;/b&gt; दिन से" in page and "Please send a photo" in page, "escaped, in order"
    assert page.index("दाने") < page.index("Please send a photo")
    image = re.search(r'<img src="(/portal/uploads/\d+)"', page).group(1)
    resp = await doctor.client.get(image)
    assert resp.status == 200 and await resp.read() == photo

    # After a restart the room's history comes from the file, not from memory.
    await server.stop()
    await server.start()
    base = str(server.server.make_url("")).rstrip("/")
    again = await RawSocket.open(base.replace("http", "ws", 1) + "/ws")
    try:
        joined = await again.join(room, patient_jwt)
    finally:
        await again.close()
    assert [line["text"] for line in joined["chat"]] == ["दाने <b>दो</b> दिन से", "Please send a photo"]
    assert [p["sha256"] for p in joined["photos"]] == [hashlib.sha256(photo).hexdigest()]


async def test_another_doctor_cannot_read_the_consultation_page(server, clinic) -> None:
    cid, *_ = await consultation_room(server, clinic)
    other = await server.browser()
    await other.staff_login("dr-tamil")
    resp, _ = await other.get(f"/portal/doctor/consultations/{cid}/record")
    assert resp.status == 403


async def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_kept(server, clinic) -> None:
    cid, room, _link, patient_jwt, _doctor_jwt, _doctor = await consultation_room(server, clinic)
    base = str(server.server.make_url("")).rstrip("/")
    status, body, _ = await upload_photo(base, room, patient_jwt, b"%PDF-1.4 not a photo" * 10)
    assert status == 415 and "JPEG or PNG" in body["message"]
    status, body, _ = await upload_photo(base, room, "forged.token.here", jpeg())
    assert status == 401 and body["code"] == "token_invalid"
    record = await server.portal.db.run(lambda conn: room_record(conn, cid))
    assert record.photos == [] and list((server.data_dir / "uploads").glob("*")) == []


async def test_a_room_whose_history_cannot_be_read_still_lets_people_join(server, clinic) -> None:
    _cid, room, _link, patient_jwt, _doctor_jwt, _doctor = await consultation_room(server, clinic)
    await server.portal.db.run(lambda conn: conn.execute("ALTER TABLE room_chat RENAME TO room_chat_gone"))
    base = str(server.server.make_url("")).rstrip("/")
    sock = await RawSocket.open(base.replace("http", "ws", 1) + "/ws")
    try:
        joined = await sock.join(room, patient_jwt)
        assert joined["chat"] == [] and joined["participant_id"]
        # A line that cannot be kept is not relayed either: the sender hears of the failure.
        await sock.send({"type": "chat", "room": room, "text": "hello"})
        await sock.next("error", code="internal")
    finally:
        await sock.close()
