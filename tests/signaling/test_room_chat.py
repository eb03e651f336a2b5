"""Chat and photo requests over the signaling socket (docs/protocol.md, "Chat and photos")."""

from __future__ import annotations

import json

import pytest

from tests.helpers.raw_socket import RawSocket
from tests.helpers.server import token


@pytest.fixture
async def sockets(sfu_server):
    opened: list[RawSocket] = []

    async def open_socket() -> RawSocket:
        sock = await RawSocket.open(sfu_server.ws_url)
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        await sock.close()


async def test_a_line_reaches_the_others_and_the_sender_gets_the_servers_copy(sockets) -> None:
    doctor, patient = await sockets(), await sockets()
    await doctor.join("chat-1", token("chat-1", "dr-asha", "doctor"))
    await patient.join("chat-1", token("chat-1", "pt-ravi"))
    request_id = await patient.send({"type": "chat", "room": "chat-1", "text": "मुझे बुखार है\nsince Monday"})
    mine = await patient.next("chat", request_id=request_id)
    theirs = await doctor.next("chat")
    assert theirs["message"] == mine["message"]
    line = mine["message"]
    assert line["text"] == "मुझे बुखार है\nsince Monday" and line["identity"] == "pt-ravi" and line["role"] == "patient"
    assert line["chat_id"] and line["at"] > 0


@pytest.mark.parametrize("text", ["ring\x07bell", "abc\u202edcba", "x\u2066y", "line\rfeed", "a" * 1001, " \n ",
                                  5, "\ud800"])
async def test_a_bad_line_is_refused_and_reaches_nobody(sockets, text) -> None:
    doctor, patient = await sockets(), await sockets()
    await doctor.join("chat-2", token("chat-2", "dr-asha", "doctor"))
    await patient.join("chat-2", token("chat-2", "pt-ravi"))
    request_id = await patient.send({"type": "chat", "room": "chat-2", "text": text})
    refused = await patient.next("error", request_id=request_id)
    assert refused["code"] == "bad_message" and "text" in refused["message"]
    await patient.send({"type": "chat", "room": "chat-2", "text": "ok"})
    assert (await doctor.next("chat"))["message"]["text"] == "ok", "the bad line came first"


async def test_joiners_words_keep_their_joiners_and_are_stored_composed() -> None:
    from signaling.protocol import chat_text

    assert chat_text("क्\u200dष") == "क्\u200dष"  # ZWJ shapes Indic conjuncts: kept
    assert chat_text("e\u0301") == "\u00e9"  # NFC
    assert len(chat_text("a" * 1000)) == 1000


async def test_whoever_joins_again_gets_the_rooms_chat_in_order(sockets) -> None:
    doctor, patient = await sockets(), await sockets()
    await doctor.join("chat-3", token("chat-3", "dr-asha", "doctor"))
    await patient.join("chat-3", token("chat-3", "pt-ravi"))
    for text in ("one", "two", "three"):
        request_id = await doctor.send({"type": "chat", "room": "chat-3", "text": text})
        await doctor.next("chat", request_id=request_id)
    await patient.close()
    again = await sockets()
    joined = await again.join("chat-3", token("chat-3", "pt-ravi"))
    assert [line["text"] for line in joined["chat"]] == ["one", "two", "three"]
    assert {line["identity"] for line in joined["chat"]} == {"dr-asha"}


async def test_a_doctor_asks_one_participant_for_a_photo_and_nobody_else_may(sockets) -> None:
    doctor, patient, other = await sockets(), await sockets(), await sockets()
    await doctor.join("chat-4", token("chat-4", "dr-asha", "doctor"))
    joined = await patient.join("chat-4", token("chat-4", "pt-ravi"))
    await other.join("chat-4", token("chat-4", "hw-1", "health_worker"))
    request_id = await doctor.send({"type": "photo-request", "room": "chat-4",
                                    "participant_id": joined["participant_id"]})
    await doctor.next("photo-requested", request_id=request_id)
    asked = await patient.next("photo-request")
    assert asked["from"]["identity"] == "dr-asha" and asked["room"] == "chat-4"
    request_id = await patient.send({"type": "photo-request", "room": "chat-4", "participant_id": "p-1"})
    assert (await patient.next("error", request_id=request_id))["code"] == "forbidden"
    request_id = await doctor.send({"type": "photo-request", "room": "chat-4", "participant_id": "p-nobody"})
    assert (await doctor.next("error", request_id=request_id))["code"] == "not_found"
    assert not [m for m in other.inbox if m["type"] == "photo-request"]
    await other.send({"type": "chat", "room": "chat-4", "text": json.dumps("flush")})
    await other.next("chat")
    assert not [m for m in other.inbox if m["type"] == "photo-request"]
