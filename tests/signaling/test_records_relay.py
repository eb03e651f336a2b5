"""Every node serves the portal: a rooms-only node relays portal and Rx requests to the records node
(signaling/records_relay.py, docs/scale.md "Records"). Real `vaidya serve` processes over a real
redis-server; the patient's browser talks to one node only, the doctor's to the other."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
import time

import aiohttp
import pytest
import redis.asyncio as aioredis

from bench.redis_server import REDIS_SERVER, RedisServer
from signaling.client import SignalingClient
from signaling.client_address import RELAYED_MAX_AGE_S, relayed_client, relayed_for
from signaling.grants import verify_token
from signaling.node_signature import NODE_SIGNATURE, sign
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.raw_socket import RawSocket
from tests.helpers.server import SECRET, ServerProcess, token
from tests.portal.conftest import PASSWORD, make_clinic
from tests.portal.test_patient_flow import room_of
from tests.signaling.test_photo_upload import photo_bytes

pytestmark = [pytest.mark.timeout(150), pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")]

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def store(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.close()


@pytest.fixture
def nodes(tmp_path, store):
    """redis-server, node-0 keeping the records (a clinic in its database), node-1 serving rooms only behind a
    load balancer on loopback (it believes 127.0.0.1's X-Forwarded-For)."""
    (tmp_path / "node0").mkdir()
    clinic = make_clinic(tmp_path / "node0")
    started = []
    for i in range(2):
        started.append(ServerProcess(tmp_path / f"node{i}", extra_args=("--workers", "1", "--redis", store.url),
                                     extra_env={"VAIDYA_NODE_ID": f"node-{i}", "VAIDYA_RECORDS": "1" if i == 0 else "0",
                                                "VAIDYA_DEV": "1", **({"VAIDYA_TRUSTED_PROXIES": "127.0.0.1"} if i else {})}))
    yield clinic, started
    for node in started:
        if node.proc.poll() is None:
            node.stop()


class Person:
    """One person's browser against one node: its own cookies, the CSRF token of the last page."""

    def __init__(self, node: ServerProcess, headers: dict[str, str] | None = None) -> None:
        self.base = node.url
        # unsafe: keep cookies for 127.0.0.1
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)
        self.csrf = ""

    async def get(self, path: str) -> tuple[aiohttp.ClientResponse, str]:
        resp = await self.http.get(self.base + path, allow_redirects=False)
        text = await resp.text()
        if m := _CSRF.search(text):
            self.csrf = m.group(1)
        return resp, text

    async def post(self, path: str, data: dict[str, str] | None = None) -> tuple[aiohttp.ClientResponse, str]:
        if not self.csrf:
            await self.get("/portal/")
        resp = await self.http.post(self.base + path, data={"csrf": self.csrf, **(data or {})}, allow_redirects=False)
        text = await resp.text()
        if m := _CSRF.search(text):
            self.csrf = m.group(1)
        return resp, text

    async def api(self, method: str, path: str, json: dict | None = None) -> tuple[aiohttp.ClientResponse, dict]:
        resp = await self.http.request(method, self.base + path, json=json, headers={"X-CSRF-Token": self.csrf})
        return resp, await resp.json()

    async def close(self) -> None:
        await self.http.close()


async def _last_code(person: Person, mobile: str) -> str:
    _, body = await person.api("GET", "/portal/api/dev/sms")
    return re.search(r"\b(\d{6})\b", [m["body"] for m in body["messages"] if m["to"] == mobile][-1]).group(1)


async def _patient_in_queue(person: Person, opd: int, mobile: str) -> int:
    await person.get("/portal/")
    resp, _ = await person.post("/portal/otp", {"mobile": mobile})
    assert resp.status == 200
    resp, text = await person.post("/portal/otp/verify", {"mobile": mobile, "code": await _last_code(person, mobile)})
    assert resp.status == 303, text
    resp, text = await person.post("/portal/register", {"name": "Asha Devi", "age": "34", "sex": "female",
                                                        "state": "Karnataka", "district": "Mysuru", "language": "en"})
    assert resp.status == 200, text
    patient_id = re.search(r"<strong>(VP-[A-Z0-9-]+)</strong>", text).group(1)
    resp, text = await person.post(f"/portal/patients/{patient_id}/book", {"opd": str(opd), "language": "en"})
    assert resp.status == 303, text
    token_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp, text = await person.post(f"/portal/tokens/{token_id}/join")
    assert resp.status == 303, text
    return token_id


async def _doctor_admits(doctor: Person, opd: int) -> dict:
    """dr-hindi signs in and admits the next patient of `opd`: the consultation."""
    await doctor.get("/portal/staff/login")
    resp, _ = await doctor.post("/portal/staff/login", {"username": "dr-hindi", "password": PASSWORD})
    assert resp.status == 303
    resp, body = await doctor.api("POST", "/portal/api/doctor/admit", {"opd": opd})
    assert resp.status == 200, body
    return body["consultation"]


async def test_a_patient_queued_through_one_node_is_admitted_by_a_doctor_on_the_other(nodes) -> None:
    clinic, (records, rooms_only) = nodes
    await asyncio.sleep(1.5)  # heartbeats written: the rooms-only node can find the records node
    patient, doctor = Person(rooms_only), Person(records)
    clients: list[SignalingClient] = []
    frames = None
    try:
        token_id = await _patient_in_queue(patient, clinic.gen, "9876543210")
        # the live queue, through the relay
        ws = await patient.http.ws_connect(f"{rooms_only.url}/portal/queue/ws?token={token_id}",
                                           headers={"Origin": rooms_only.url})
        first = await ws.receive_json(timeout=5)
        assert first["status"] == "waiting" and first["position"] == 1

        consultation = await _doctor_admits(doctor, clinic.gen)
        # the admission on node-0 reaches the patient's socket on node-1 at once
        update = await ws.receive_json(timeout=5)
        assert update["status"] == "called" and update["call_ready"] is True
        await ws.close()

        resp, _ = await patient.post(f"/portal/tokens/{token_id}/call")
        assert resp.status == 303
        patient_room, patient_jwt = room_of(resp.headers["Location"])
        resp, body = await doctor.api("GET", f"/portal/api/doctor/consultations/{consultation['id']}/room")
        doctor_room, doctor_jwt = room_of(body["room_url"])
        assert patient_room == doctor_room == consultation["room"]

        # and the consultation itself: each joins through their own node, media flows
        clients = [await SignalingClient(rooms_only.ws_url).connect(), await SignalingClient(records.ws_url).connect()]
        sent = await clients[0].join(patient_room, patient_jwt)
        await sent.publish(NumberedVideoTrack(), ToneTrack())
        seen = await clients[1].join(doctor_room, doctor_jwt)
        await wait_until(lambda: seen.track("video") is not None, "the doctor's video track", timeout=20)
        frames = FrameCollector(seen.track("video"))
        await wait_until(lambda: len(frames.readable()) > 10, "the patient's video at the doctor", timeout=20)
    finally:
        if frames is not None:
            await frames.stop()
        for client in clients:
            await client.close()
        await patient.close()
        await doctor.close()


async def _admitted(clinic, patient: Person, doctor: Person) -> tuple[dict, str, str, str]:
    """A patient queued through `patient`'s node and admitted by a doctor signed in on `doctor`'s: the
    consultation, its room, and each one's room token."""
    token_id = await _patient_in_queue(patient, clinic.gen, "9876543210")
    consultation = await _doctor_admits(doctor, clinic.gen)
    resp, _ = await patient.post(f"/portal/tokens/{token_id}/call")
    patient_room, patient_jwt = room_of(resp.headers["Location"])
    resp, body = await doctor.api("GET", f"/portal/api/doctor/consultations/{consultation['id']}/room")
    _, doctor_jwt = room_of(body["room_url"])
    return consultation, patient_room, patient_jwt, doctor_jwt


async def test_chat_and_photos_in_a_room_on_a_rooms_only_node_are_kept_with_the_consultation(nodes, store) -> None:
    """The room lives on node-1, which keeps no records: what is said and shown in it still goes into the
    consultation's record on node-0, and a participant who rejoins gets it back."""
    clinic, (records, rooms_only) = nodes
    await asyncio.sleep(1.5)
    patient, doctor = Person(rooms_only), Person(records)
    sockets: list[RawSocket] = []
    directory = aioredis.from_url(store.url, decode_responses=True)
    try:
        consultation, room, patient_jwt, doctor_jwt = await _admitted(clinic, patient, doctor)
        sockets = [await RawSocket.open(rooms_only.ws_url), await RawSocket.open(records.ws_url)]
        at_patient, at_doctor = sockets
        await at_patient.join(room, patient_jwt)  # the first to join: the room is placed on node-1
        await at_doctor.join(room, doctor_jwt)
        assert await directory.get(f"vaidya:room:{room}") == "node-1"

        request_id = await at_patient.send({"type": "chat", "room": room, "text": "सीने में दर्द since 2 days"})
        assert (await at_patient.next("chat", request_id=request_id))["message"]["text"] == "सीने में दर्द since 2 days"
        assert (await at_doctor.next("chat"))["message"]["identity"] == verify_token(SECRET, patient_jwt, room).identity

        # a photo, started through node-1 and finished through node-0: the upload lives where it is kept
        photo = photo_bytes(120, 90)
        auth = {"Authorization": f"Bearer {patient_jwt}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{rooms_only.url}/room/{room}/photos", headers=auth,
                                 json={"size": len(photo), "sha256": hashlib.sha256(photo).hexdigest()}) as r:
                assert r.status == 201, await r.text()
                upload_id = (await r.json())["upload_id"]
            half = len(photo) // 2
            async with http.put(f"{rooms_only.url}/room/{room}/photos/uploads/{upload_id}", params={"offset": "0"},
                                headers=auth, data=photo[:half]) as r:
                assert r.status == 200 and (await r.json())["received"] == half
            async with http.put(f"{records.url}/room/{room}/photos/uploads/{upload_id}", params={"offset": str(half)},
                                headers=auth, data=photo[half:]) as r:
                assert r.status == 201, await r.text()
                kept = (await r.json())["photo"]
        request_id = await at_patient.send({"type": "photo-sent", "room": room, "photo_id": kept["photo_id"]})
        assert (await at_patient.next("photo", request_id=request_id))["photo"]["sha256"] == kept["sha256"]
        assert (await at_doctor.next("photo"))["photo"]["photo_id"] == kept["photo_id"]

        with sqlite3.connect(records.data_dir / "vaidya.db") as conn:
            chat = conn.execute("SELECT consultation_id, text FROM room_chat").fetchall()
            photos = conn.execute("SELECT consultation_id FROM room_photos").fetchall()
        assert chat == [(consultation["id"], "सीने में दर्द since 2 days")]
        assert photos == [(consultation["id"],)]
        resp, page = await doctor.get(f"/portal/doctor/consultations/{consultation['id']}/record")
        assert resp.status == 200 and "सीने में दर्द since 2 days" in page

        # the patient's page reloads: the history comes back with the join, from the record
        await at_patient.close()
        sockets[0] = at_patient = await RawSocket.open(rooms_only.ws_url)
        joined = await at_patient.join(room, patient_jwt)
        assert [line["text"] for line in joined["chat"]] == ["सीने में दर्द since 2 days"]
        assert [p["photo_id"] for p in joined["photos"]] == [kept["photo_id"]]
    finally:
        for sock in sockets:
            await sock.close()
        await directory.aclose()
        await patient.close()
        await doctor.close()


async def test_the_records_node_keeps_room_history_only_for_its_fellow_nodes(nodes) -> None:
    """The history endpoints take the caller's word for who said a line: unsigned, stale or altered
    requests change nothing."""
    _clinic, (records, _rooms_only) = nodes
    path = "/internal/rooms/any-room/chat"
    line = json.dumps({"identity": "dr-forged", "role": "doctor", "text": "take 10 tablets", "at": 1.0}).encode()
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {NODE_SIGNATURE: sign("not-the-secret-" + "z" * 30, "POST", path, line)},
                        {NODE_SIGNATURE: sign(SECRET, "POST", path, line, now=time.time() - 120)},
                        {NODE_SIGNATURE: sign(SECRET, "POST", path, b'{"other": "body"}')},
                        {NODE_SIGNATURE: sign(SECRET, "POST", "/internal/rooms/other-room/chat", line)}):
            async with http.post(records.url + path, data=line, headers=headers) as r:
                assert r.status == 403, headers
        async with http.get(records.url + path, headers={NODE_SIGNATURE: sign(SECRET, "GET", path)}) as r:
            assert r.status == 200 and (await r.json())["chat"] == []
        async with http.post(records.url + path, data=line, headers={NODE_SIGNATURE: sign(SECRET, "POST", path, line)}) as r:
            assert r.status == 201 and (await r.json())["line"]["text"] == "take 10 tablets"


async def test_the_relay_keeps_no_one_s_session_for_anyone_else(nodes) -> None:
    clinic, (records, rooms_only) = nodes
    await asyncio.sleep(1.5)
    asha, stranger = Person(rooms_only), Person(rooms_only)
    try:
        await _patient_in_queue(asha, clinic.gen, "9876543210")
        resp, text = await asha.get("/portal/me")
        assert resp.status == 200 and "Asha Devi" in text
        resp, text = await stranger.get("/portal/me")  # no cookie of its own: sent to log in
        assert resp.status in (302, 303) and "Asha Devi" not in text
        # the reply came through whole: headers the records node sets (a session cookie, security headers)
        resp, _ = await stranger.get("/portal/")
        assert resp.status == 200 and "Content-Security-Policy" in resp.headers
        resp, _ = await stranger.get("/")
        assert resp.status in (302, 303) and resp.headers["Location"] == "/portal/"
    finally:
        await asha.close()
        await stranger.close()


async def test_the_records_node_sees_the_client_s_address_not_the_relaying_node_s(nodes) -> None:
    """Every per-address limit and audit line on the records node keys on the client: were it the relaying
    node's address, one busy node's patients would share one budget."""
    clinic, (records, rooms_only) = nodes
    await asyncio.sleep(1.5)
    behind_balancer = Person(rooms_only, headers={"X-Forwarded-For": "203.0.113.9"})
    forger = Person(records, headers={"X-Vaidya-Relayed-For": relayed_for("not-the-secret-" + "z" * 30, "198.51.100.7")})
    try:
        await _patient_in_queue(behind_balancer, clinic.gen, "9876543210")
        await _patient_in_queue(forger, clinic.gen, "9123456780")
        for person in (behind_balancer, forger):
            resp, _ = await person.get("/portal/me")  # an audited view of the patient's record
            assert resp.status == 200
        with sqlite3.connect(records.data_dir / "vaidya.db") as conn:
            clients = {client for (client,) in conn.execute("SELECT client FROM audit_log WHERE client != ''")}
        assert clients == {"203.0.113.9", "127.0.0.1"}  # the forged name is not believed
    finally:
        await behind_balancer.close()
        await forger.close()


async def test_the_rooms_only_node_says_the_records_are_unavailable_when_their_node_is_gone(nodes) -> None:
    clinic, (records, rooms_only) = nodes
    await asyncio.sleep(1.5)
    person = Person(rooms_only)
    in_room = await RawSocket.open(rooms_only.ws_url)
    try:
        token_id = await _patient_in_queue(person, clinic.gen, "9876543210")
        ws = await person.http.ws_connect(f"{rooms_only.url}/portal/queue/ws?token={token_id}")
        assert (await ws.receive_json(timeout=5))["status"] == "waiting"
        await in_room.join("loose-1", token("loose-1", "hw-meena", "doctor"))
        request_id = await in_room.send({"type": "chat", "room": "loose-1", "text": "kept"})
        assert (await in_room.next("chat", request_id=request_id))["message"]["text"] == "kept"
        records.proc.kill()  # kill -9: no goodbye from it
        # the queue page's socket closes as a restart (the page reconnects by itself)
        assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1012
        started = time.monotonic()
        resp, text = await person.get("/portal/")
        assert resp.status == 503 and resp.headers["Retry-After"] == "5" and "records" in text
        assert time.monotonic() - started < 8.0
        # rooms still work there; a line said now is refused, not kept where no record would find it
        assert (await person.http.get(f"{rooms_only.url}/healthz")).status == 200
        request_id = await in_room.send({"type": "chat", "room": "loose-1", "text": "lost?"})
        refused = await in_room.next("error", request_id=request_id, timeout=10)
        assert refused["code"] == "unavailable" and "send it again" in refused["message"]
        request_id = await in_room.send({"type": "save-data", "room": "loose-1", "enabled": True})
        assert (await in_room.next("save-data", request_id=request_id))["enabled"] is True
    finally:
        await in_room.close()
        await person.close()


def test_a_relayed_client_address_is_believed_only_with_a_fresh_signature_of_the_shared_secret() -> None:
    now = 1_800_000_000.0
    header = relayed_for(SECRET, "203.0.113.9", now)
    assert relayed_client(header, SECRET, now + 1) == "203.0.113.9"
    assert relayed_client(header, SECRET, now + RELAYED_MAX_AGE_S + 1) is None  # replayed later
    assert relayed_client(header, "another-secret-" + "y" * 40, now) is None
    forged = header.replace("203.0.113.9", "198.51.100.7")  # someone else's address under the same signature
    assert relayed_client(forged, SECRET, now) is None
    assert relayed_client("203.0.113.9", SECRET, now) is None
    assert relayed_client(relayed_for(SECRET, "not-an-address", now), SECRET, now) is None
