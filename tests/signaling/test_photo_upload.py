"""HD photos into a room over HTTP (signaling/photos.py): intact over a 150 kbit/s link that drops mid-way,
and every bad upload refused with nothing kept."""

from __future__ import annotations

import hashlib
import io
import time

import aiohttp
from PIL import Image

from bench.tcp_shaper import TcpShaper
from signaling import keys
from tests.helpers.photo_upload import upload_photo
from tests.helpers.raw_socket import RawSocket
from tests.helpers.server import token

LINK_KBPS = 150


def photo_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


async def test_a_photo_crosses_a_150_kbit_link_that_drops_mid_upload_intact(sfu_server) -> None:
    room = "photo-slow"
    doctor, patient = await RawSocket.open(sfu_server.ws_url), await RawSocket.open(sfu_server.ws_url)
    await doctor.join(room, token(room, "dr-asha", "doctor"))
    await patient.join(room, token(room, "pt-ravi"))
    shaper = TcpShaper(("127.0.0.1", sfu_server.port), up_kbps=LINK_KBPS)
    host, port = await shaper.start()
    photo = photo_bytes(200, 150)
    assert 15_000 < len(photo) < 40_000
    try:
        shaper.cut_after(len(photo) // 2)  # the link fails once, half way through
        started = time.monotonic()
        status, body, _failures = await upload_photo(f"http://{host}:{port}", room, token(room, "pt-ravi"), photo,
                                                    chunk_bytes=8 * 1024)
        elapsed = time.monotonic() - started
        assert status == 201, body
        await patient.send({"type": "photo-sent", "room": room, "photo_id": body["photo"]["photo_id"]})
        told = await doctor.next("photo")
    finally:
        await shaper.close()
        await doctor.close()
        await patient.close()
    assert status == 201, body
    # The cut chunk is retried on a new connection (by aiohttp itself, or after asking what arrived).
    assert shaper.cuts == 1 and shaper.connections >= 2, "the upload went on over a new connection"
    assert body["photo"]["sha256"] == hashlib.sha256(photo).hexdigest() == told["photo"]["sha256"]
    assert elapsed >= len(photo) * 8 / (LINK_KBPS * 1000) * 0.9, f"not shaped: {elapsed:.2f} s"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{sfu_server.port}{told['photo']['url']}",
                            headers={"Authorization": f"Bearer {token(room, 'dr-asha', 'doctor')}"}) as r:
            stored = await r.read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(photo).hexdigest()


async def test_bad_uploads_are_refused_and_nothing_reaches_the_room(sfu_server) -> None:
    room = "photo-bad"
    base = f"http://127.0.0.1:{sfu_server.port}"
    doctor = await RawSocket.open(sfu_server.ws_url)
    await doctor.join(room, token(room, "dr-asha", "doctor"))
    patient = {"Authorization": f"Bearer {token(room, 'pt-ravi')}"}
    photo = photo_bytes(64, 48)
    try:
        async with aiohttp.ClientSession(base) as http:
            async def start(size: int, sha: str, headers=patient) -> tuple[int, dict]:
                async with http.post(f"/room/{room}/photos", headers=headers, json={"size": size, "sha256": sha}) as r:
                    return r.status, await r.json()

            good_sha = hashlib.sha256(photo).hexdigest()
            assert (await start(6 * 1024 * 1024, good_sha))[0] == 413
            assert (await start(0, good_sha))[0] == 400
            assert (await start(10, "nothex"))[0] == 400
            observer = {"Authorization": f"Bearer {token(room, 'watcher', 'observer', publish=False)}"}
            assert (await start(len(photo), good_sha, observer))[0] == 403
            other_room = {"Authorization": f"Bearer {token('elsewhere', 'pt-ravi')}"}
            status, body = await start(len(photo), good_sha, other_room)
            assert status == 401 and body["code"] == "token_wrong_room"

            status, body = await start(len(photo), "0" * 64)  # announces another photo's hash
            upload = f"/room/{room}/photos/uploads/{body['upload_id']}"
            async with http.put(upload, params={"offset": "5"}, headers=patient, data=photo) as r:
                assert r.status == 409 and (await r.json())["received"] == 0
            async with http.put(upload, params={"offset": "0"}, headers=patient, data=photo + b"x") as r:
                assert r.status == 413
            other_person = {"Authorization": f"Bearer {token(room, 'pt-someone-else')}"}
            async with http.put(upload, params={"offset": "0"}, headers=other_person, data=photo) as r:
                assert r.status == 404
            async with http.put(upload, params={"offset": "0"}, headers=patient, data=photo) as r:
                assert r.status == 422 and "damaged" in (await r.json())["message"]
        assert await sfu_server.app[keys.ROOM_LOG].photos(room) == []
        assert not [m for m in doctor.inbox if m["type"] == "photo"], "nothing reached the room"
        status, body, _ = await upload_photo(base, room, token(room, "pt-ravi"), photo)
        assert status == 201
        # Only the sender may tell the room of a photo, and only of one that was kept.
        request_id = await doctor.send({"type": "photo-sent", "room": room, "photo_id": body["photo"]["photo_id"]})
        assert (await doctor.next("error", request_id=request_id))["code"] == "not_found"
        uploader = await RawSocket.open(sfu_server.ws_url)
        await uploader.join(room, token(room, "pt-ravi"))
        request_id = await uploader.send({"type": "photo-sent", "room": room, "photo_id": "ph-nothing"})
        assert (await uploader.next("error", request_id=request_id))["code"] == "not_found"
        await uploader.send({"type": "photo-sent", "room": room, "photo_id": body["photo"]["photo_id"]})
        assert (await doctor.next("photo"))["photo"]["size"] == len(photo)
        await uploader.close()
    finally:
        await doctor.close()
