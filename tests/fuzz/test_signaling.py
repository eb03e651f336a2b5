"""Property: no message, candidate, offer or token makes the signaling server answer `internal`, and every
error it sends carries a documented code and the request's own `request_id`.

Driven through the real server (aiohttp, real aiortc peer connections) and the real parser."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import jwt
import pytest
from aiortc import RTCPeerConnection
from hypothesis import example, given
from hypothesis import strategies as st

from signaling import grants, keys
from signaling.grants import TokenError, mint_token, verify_token
from signaling.protocol import SCHEMAS, ProtocolError, parse_message
from tests.helpers.media import NumberedVideoTrack, ToneTrack

from .corpus import entries
from .signaling_peer import FuzzPeer, documented_error_codes

DOCUMENTED = documented_error_codes()
ROOM = "fz"

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

REAL_CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host generation 0"


@st.composite
def candidate_lines(draw: st.DrawFn) -> str:
    """A real candidate line with some of its words replaced, dropped or added, or any text at all."""
    if draw(st.booleans()):
        return draw(st.text(max_size=60))
    words = REAL_CANDIDATE.split(" ")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(words) - 1))
        action = draw(st.sampled_from(["replace", "drop", "number", "insert"]))
        if action == "replace":
            words[i] = draw(st.text(max_size=12))
        elif action == "drop" and len(words) > 1:
            del words[i]
        elif action == "number":
            words[i] = str(draw(st.integers(-(2**70), 2**70)))
        else:
            words.insert(i, draw(st.sampled_from(["typ", "raddr", "rport", "tcptype", "x.local", "::1", ""])))
    return " ".join(words)


candidates = st.none() | json_value | st.fixed_dictionaries(
    {"candidate": candidate_lines()},
    optional={"sdpMid": st.none() | st.sampled_from(["0", "1", ""]) | st.text(max_size=4),
              "sdpMLineIndex": st.none() | st.integers(-2, 2**64)},
)


def messages(types: list[str], rooms: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Protocol messages of these types, each field missing, of the right kind, or any JSON value."""
    return st.fixed_dictionaries(
        {"type": st.sampled_from(types) | st.text(max_size=10)},
        optional={
            "room": rooms,
            "token": st.text(max_size=40) | json_value,
            "sdp": st.text(max_size=80) | json_value,
            "pc": st.sampled_from(["publish", "subscribe"]) | json_value,
            "candidate": candidates,
            "kind": st.sampled_from(["audio", "video"]) | json_value,
            "participant_id": st.text(max_size=8) | json_value,
            "tier": st.sampled_from(["T0", "A", "T9"]) | json_value,
            "enabled": st.booleans() | json_value,
            "text": st.text(st.characters(codec="utf-8") | st.sampled_from(["\r", "\u202e", "\u200b", "\ud800"]),
                            max_size=40) | json_value,
            "photo_id": st.text(max_size=12) | json_value,
            "request_id": json_value,
        },
    )


# -- the parser alone (pure, so many examples) -----------------------------------------------------------


def check_parse(text: str) -> None:
    try:
        parse_message(text)
    except ProtocolError as exc:
        assert exc.code in DOCUMENTED, exc.code


@given(st.text(max_size=200) | messages(list(SCHEMAS), st.just(ROOM) | json_value).map(json.dumps))
@example('{"type": "ice", "room": "fz", "pc": "publish", "candidate": {"candidate": 5}}')
@example("[" * 5000)
def test_the_parser_accepts_a_message_or_names_a_documented_code(text):
    check_parse(text)


# -- the running server -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def publisher(live):
    """A fuzzing client, and a real offer (audio and video from an aiortc peer) to send and to mutate."""
    yield from _publisher(live)


@pytest.fixture(scope="module")
def worker_publisher(live_workers):
    """The same, against a server whose rooms live in a worker process (the front relays every frame)."""
    assert keys.WORKERS in live_workers.app, "rooms in the front's own process: not the mode under test"
    yield from _publisher(live_workers)


def _publisher(live):
    async def setup():
        peer = await FuzzPeer.connect(live.ws_url)
        pc = RTCPeerConnection()
        pc.addTrack(NumberedVideoTrack(fps=5))
        pc.addTrack(ToneTrack())
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        await pc.close()
        return peer, offer

    peer, offer = live.run(setup())
    yield live, peer, offer
    live.run(peer.client.close())


_rooms = itertools.count(1)


def in_fresh_room(publisher, publish: bool) -> str:
    """Join a room of its own (publishing the real offer if asked): each example starts from the same state,
    whatever the one before did to its room."""
    live, peer, offer = publisher
    room = f"{ROOM}-{next(_rooms)}"

    async def join() -> None:
        await peer.client.request({"type": "join", "room": room,
                                   "token": mint_token(live.config.secret, room=room, identity="fuzzer",
                                                       role="doctor")})
        if publish:
            await peer.client.request({"type": "publish", "room": room, "sdp": offer})

    live.run(join())
    return room


def leave(publisher, room: str) -> None:
    live, peer, _ = publisher
    live.run(peer.exchange(json.dumps({"type": "leave", "room": room})))


def check_replies(replies: list[dict[str, Any]], request_id: Any) -> None:
    """No `internal`; every error a documented code echoing the message's request_id."""
    for reply in replies:
        if reply.get("type") != "error":
            continue
        assert reply["code"] != "internal", reply
        assert reply["code"] in DOCUMENTED, reply
        if reply["code"] != "replaced":
            assert reply.get("request_id") == request_id, (reply, request_id)


def check_message(publisher, message: dict[str, Any], publish: bool = False) -> None:
    live, peer, _ = publisher
    room = in_fresh_room(publisher, publish)
    if message.get("room") == ROOM:
        message = {**message, "room": room}
    message = {**message, "request_id": "fz-1"}
    try:
        check_replies(live.run(peer.exchange(json.dumps(message))), "fz-1")
    finally:
        leave(publisher, room)


@given(messages(list(SCHEMAS), st.sampled_from([ROOM, "elsewhere"]) | json_value))
@example({"type": "ice", "room": ROOM, "pc": "publish", "candidate": {"candidate": "1", "sdpMid": "0"}})
@example({"type": "ice", "room": ROOM, "pc": "publish", "candidate": {"candidate": "typ 127.0.0.1"}})
def test_no_message_gets_internal_and_every_error_echoes_its_request_id(publisher, message):
    check_message(publisher, message)


@given(st.fixed_dictionaries({"type": st.just("ice"), "room": st.just(ROOM), "candidate": candidates,
                              "pc": st.just("publish")}))
@example({"type": "ice", "room": ROOM, "pc": "publish", "candidate": {"candidate": "generation"}})
def test_no_trickled_candidate_gets_internal(publisher, message):
    check_message(publisher, message, publish=True)


@pytest.mark.parametrize("message", entries("signaling_message"))
def test_kept_messages_still_get_documented_errors(publisher, message):
    check_message(publisher, message, publish=True)


@given(messages(list(SCHEMAS), st.sampled_from([ROOM, "elsewhere"]) | json_value))
def test_with_rooms_in_a_worker_no_message_gets_internal(worker_publisher, message):
    """The front parses nothing but relays every frame to the worker: the worker's answers hold too."""
    check_message(worker_publisher, message)


@pytest.mark.parametrize("publisher_of", ["publisher", "worker_publisher"])
@given(data=st.binary(max_size=300))
def test_a_binary_frame_is_refused_with_bad_json_and_the_socket_stays(request, publisher_of, data):
    live, peer, _ = request.getfixturevalue(publisher_of)
    replies = live.run(peer.exchange(data))
    errors = [r for r in replies if r.get("type") == "error"]
    assert errors and all(r["code"] == "bad_json" for r in errors), replies
    check_replies(replies, None)


# -- offers -----------------------------------------------------------------------------------------------


@st.composite
def offer_edits(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    return draw(st.lists(st.tuples(
        st.sampled_from(["drop", "repeat", "replace", "empty_value", "swap"]),
        st.integers(0, 500),
        st.sampled_from(["a=mid:", "a=mid:0", "m=video 9 UDP/TLS/RTP/SAVPF", "a=rtpmap:96 VP8/0",
                         "a=ssrc:x", "a=fingerprint:sha-256 00", "a=ice-ufrag:", "a=setup:bogus",
                         "a=extmap:99999 x", "a=group:BUNDLE 7"]) | st.text(max_size=30),
    ), min_size=1, max_size=4))


def edit_offer(offer: str, edits: list[tuple[str, int, str]]) -> str:
    lines = offer.split("\r\n")
    for action, index, text in edits:
        i = index % len(lines)
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "replace":
            lines[i] = text
        elif action == "empty_value":
            lines[i] = lines[i].split(":", 1)[0] + ":"
        else:
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            lines = [""]
    return "\r\n".join(lines)


def check_offer(publisher, edits: list[tuple[str, int, str]]) -> None:
    live, peer, offer = publisher
    room = in_fresh_room(publisher, publish=False)
    message = {"type": "publish", "room": room, "sdp": edit_offer(offer, edits), "request_id": "sdp-1"}
    try:
        replies = live.run(peer.exchange(json.dumps(message)))
    finally:
        leave(publisher, room)
    check_replies(replies, "sdp-1")
    errors = [r["code"] for r in replies if r.get("type") == "error"]
    answered = [r for r in replies if r.get("type") == "answer" and r.get("request_id") == "sdp-1"]
    assert answered or errors == ["bad_sdp"], replies


@given(offer_edits())
@example([("empty_value", 0, "")])  # the v= line emptied
def test_no_offer_gets_internal(publisher, edits):
    check_offer(publisher, edits)


def test_an_offer_with_an_empty_mid_is_bad_sdp(publisher):
    _, _, offer = publisher
    mid_line = offer.split("\r\n").index("a=mid:0")
    check_offer(publisher, [("replace", mid_line, "a=mid:")])


@pytest.mark.parametrize("edits", entries("signaling_offer"))
def test_kept_offers_still_get_bad_sdp_or_an_answer(publisher, edits):
    check_offer(publisher, [tuple(e) for e in edits])


# -- tokens -----------------------------------------------------------------------------------------------

SECRET = "fuzz-secret-" + "x" * 40
GOOD_CLAIMS = {"iss": grants.ISSUER, "aud": grants.AUDIENCE, "sub": "p", "room": "r", "role": "patient",
               "grants": {"publish": True, "subscribe": True}}

claims = st.fixed_dictionaries({}, optional={
    name: json_value | st.just(value) for name, value in
    {**GOOD_CLAIMS, "exp": 0, "iat": 0, "nbf": 0}.items()
})


def check_token_claims(extra: dict[str, Any], now: float) -> None:
    """A token signed with the right key but any claims: a Grant of the documented types, or TokenError."""
    body = {**GOOD_CLAIMS, "iat": int(now), "exp": int(now) + 60, **extra}
    try:
        token = jwt.encode(body, SECRET, algorithm=grants.ALGORITHM)
    except (TypeError, ValueError, OverflowError):
        return  # not encodable as a JWT at all: nobody can send it
    try:
        grant = verify_token(SECRET, token, "r")
    except TokenError as exc:
        assert exc.code in DOCUMENTED
        return
    assert isinstance(grant.identity, str) and isinstance(grant.publish, bool) and isinstance(grant.subscribe, bool)
    assert grant.expires_at - now <= grants.MAX_EXPIRY_AHEAD_S


@given(claims)
@example({"grants": [1]})
@example({"grants": {"publish": "no", "subscribe": True}})
@example({"exp": 4_102_444_800})  # the year 2100
@example({"sub": {"a": 1}})
def test_any_claims_in_a_signed_token_give_a_typed_grant_or_a_token_error(extra):
    check_token_claims(extra, time.time())


@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@example("eyJ" + "W" * 3000 + ".e30.x")
def test_any_token_text_gives_a_grant_or_a_token_error(text):
    try:
        verify_token(SECRET, text, "r")
    except TokenError as exc:
        assert exc.code in DOCUMENTED


@pytest.mark.parametrize("extra", entries("token_claims"))
def test_kept_claims_still_get_a_token_error(extra):
    check_token_claims(extra, time.time())
