"""Bad input gets the documented error and harms nobody else."""

import asyncio
import json
import time

import pytest

from signaling import keys
from signaling.client import SignalingError
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import SECRET, token
from signaling.grants import mint_token


@pytest.fixture
async def healthy(sfu_server, clients):
    """A consultation in progress: a publisher and a subscriber that keeps counting frames."""
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("healthy", token("healthy", "patient-1"))
    await pub.publish(NumberedVideoTrack(fps=30), ToneTrack())
    watcher = await clients(sfu_server.ws_url)
    peer = await watcher.join("healthy", token("healthy", "doctor-1", "doctor"))
    track = await wait_until(lambda: peer.track("video"), "video at the healthy subscriber")
    frames = FrameCollector(track)
    await wait_until(lambda: len(frames.readable()) > 5, "frames at the healthy subscriber")
    yield frames
    await frames.stop()


async def _error(client, text):
    before = len(client.errors)
    await client.send_raw(text)
    await wait_until(lambda: len(client.errors) > before, f"an error reply to {text[:40]!r}")
    return client.errors[-1]


async def test_malformed_messages_get_their_codes_and_the_healthy_session_keeps_receiving(
    sfu_server, clients, healthy
):
    attacker = await clients(sfu_server.ws_url)
    before = len(healthy.numbers)
    started = time.monotonic()

    assert (await _error(attacker, "{not json"))["code"] == "bad_json"
    assert (await _error(attacker, "[1, 2]"))["code"] == "bad_json"
    assert (await _error(attacker, json.dumps({"type": "dance"})))["code"] == "unknown_type"
    assert (await _error(attacker, json.dumps({"type": "join", "room": 5, "token": "x"})))["code"] == "bad_message"
    big = json.dumps({"type": "join", "room": "healthy", "token": "x" * 70_000})
    assert (await _error(attacker, big))["code"] == "too_large"
    assert (await _error(attacker, json.dumps({"type": "publish", "room": "healthy", "sdp": "v=0"})))["code"] == "not_joined"

    with pytest.raises(SignalingError) as err:
        await attacker.join("healthy", "")
    assert err.value.code == "token_missing"
    forged = mint_token("y" * 48, room="healthy", identity="doctor-1", role="doctor")
    with pytest.raises(SignalingError) as err:
        await attacker.join("healthy", forged)
    assert err.value.code == "token_invalid"
    expired = mint_token(SECRET, room="healthy", identity="x", role="doctor", ttl_s=5, now=time.time() - 60)
    with pytest.raises(SignalingError) as err:
        await attacker.join("healthy", expired)
    assert err.value.code == "token_expired"
    with pytest.raises(SignalingError) as err:
        await attacker.join("healthy", token("other-room", "x", "doctor"))
    assert err.value.code == "token_wrong_room"

    # A real join, then an unusable offer and an answer nobody asked for.
    peer = await attacker.join("sandbox", token("sandbox", "tester"))
    with pytest.raises(SignalingError) as err:
        await attacker.request({"type": "publish", "room": "sandbox", "sdp": "v=0\r\nm=video notaport UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"})
    assert err.value.code == "bad_sdp"
    with pytest.raises(SignalingError) as err:
        await attacker.request({"type": "answer", "room": "sandbox", "sdp": "v=0"})
    assert err.value.code == "bad_state"
    with pytest.raises(SignalingError) as err:
        await attacker.request({"type": "join", "room": "sandbox", "token": token("sandbox", "tester")})
    assert err.value.code == "already_joined"
    observer = await clients(sfu_server.ws_url)
    obs = await observer.join("sandbox", token("sandbox", "watcher", "observer"))
    with pytest.raises(SignalingError) as err:
        await obs.publish(NumberedVideoTrack())
    assert err.value.code == "forbidden"

    assert not attacker.closed  # errors close nothing
    await asyncio.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    assert len(healthy.numbers) - before >= 30  # the healthy consultation never noticed


async def test_a_message_flood_is_rate_limited_and_harms_nobody_else(sfu_server, clients, healthy):
    flooder = await clients(sfu_server.ws_url)
    before = len(healthy.numbers)
    for i in range(300):
        await flooder.send_raw(json.dumps({"type": "leave", "room": "nowhere", "request_id": i}))
    await wait_until(lambda: any(e["code"] == "rate_limited" for e in flooder.errors), "rate_limited errors")
    limited = [e for e in flooder.errors if e["code"] == "rate_limited"]
    answered = [e for e in flooder.errors if e["code"] == "not_joined"]
    assert len(answered) < 100 and len(limited) > 150
    assert not flooder.closed
    await asyncio.sleep(1.5)
    assert len(healthy.numbers) - before >= 30


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        ({"type": "pin", "room": "sandbox", "tier": "A"}, "'participant_id' is required"),
        ({"type": "pin", "room": "sandbox", "participant_id": "", "tier": "A"}, "participant_id must be a non-empty"),
        ({"type": "pin", "room": "sandbox", "participant_id": 7, "tier": "A"}, "participant_id must be a non-empty"),
        ({"type": "pin", "room": "sandbox", "participant_id": "p" * 65, "tier": "A"}, "longer than 64"),
        ({"type": "pin", "room": "sandbox", "participant_id": "p-1", "tier": "T4"}, "tier must be one of"),
        ({"type": "pin", "room": "sandbox", "participant_id": "p-1", "tier": "full"}, "tier must be one of"),
        ({"type": "save-data", "room": "sandbox", "enabled": 1}, "enabled must be true or false"),
        ({"type": "save-data", "room": "sandbox", "enabled": "yes"}, "enabled must be true or false"),
        ({"type": "save-data", "room": "sandbox", "enabled": None}, "enabled must be true or false"),
        ({"type": "save-data", "room": "sandbox"}, "'enabled' is required"),
        ({"type": "save-data", "room": "bad room", "enabled": True}, "room must be"),
    ],
)
async def test_malformed_pin_and_save_data_get_bad_message_naming_the_field(
    sfu_server, clients, message, complaint
):
    client = await clients(sfu_server.ws_url)
    await client.join("sandbox", token("sandbox", "dr-pin", "doctor"))
    with pytest.raises(SignalingError) as err:
        await client.request(message)
    assert err.value.code == "bad_message"
    assert complaint in str(err.value), err.value
    assert not client.closed


async def test_a_server_fault_answers_internal_with_the_request_id_and_logs_one_traceback(
    sfu_server, clients, caplog, monkeypatch
):
    """No input reaches `internal` any more (tests/fuzz): a fault is simulated by a handler that raises."""
    from signaling import session
    from signaling.log_limit import RepeatLimitedLog

    async def broken(self, message):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(session.Session, "got_pause", broken)
    monkeypatch.setattr(session, "bad_input_log", RepeatLimitedLog(session.log, interval_s=60))
    client = await clients(sfu_server.ws_url)
    with caplog.at_level("INFO", "signaling.session"):
        for i in range(10):
            await client.send_raw(json.dumps({"type": "pause", "room": "r", "kind": None, "request_id": f"q-{i}"}))
        await wait_until(lambda: len(client.errors) == 10, "ten error replies")
    assert [(e["code"], e["request_id"], e["room"]) for e in client.errors] == [
        ("internal", f"q-{i}", "r") for i in range(10)]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1


@pytest.mark.parametrize(
    "candidate",
    ["candidate:1", "1 1 udp", "typ host", "candidate:1 1 udp 2122260223 127.0.0.1 notaport typ host",
     "candidate:1 1 udp 1 127.0.0.1 1 typ"],
)
async def test_a_malformed_trickled_candidate_is_bad_message_with_its_request_id(sfu_server, clients, candidate):
    client = await clients(sfu_server.ws_url)
    peer = await client.join("ice-room", token("ice-room", "tester"))
    await peer.publish(NumberedVideoTrack())
    with pytest.raises(SignalingError) as err:
        await client.request({"type": "ice", "room": "ice-room", "pc": "publish",
                              "candidate": {"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0}})
    assert err.value.code == "bad_message" and err.value.reply["request_id"] is not None


@pytest.mark.parametrize("drop", ["a=mid:0", "m=audio "])
async def test_an_offer_aiortc_half_applies_is_bad_sdp_and_a_good_offer_then_works(sfu_server, clients, drop):
    """Without a section's mid (or with a section's m= line gone), aiortc built a transceiver without a
    transport: creating the answer failed and so did closing the connection (`internal`). Now: an answer, or
    `bad_sdp` and a good offer then works."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTrack(NumberedVideoTrack())
    pc.addTrack(ToneTrack())
    await pc.setLocalDescription(await pc.createOffer())
    lines = pc.localDescription.sdp.split("\r\n")
    await pc.close()
    broken = "\r\n".join(line for line in lines if not line.startswith(drop))
    client = await clients(sfu_server.ws_url)
    peer = await client.join("half", token("half", "tester"))
    try:  # with every section bundled on one transport, aiortc may now answer an offer without a mid
        await client.request({"type": "publish", "room": "half", "sdp": broken})
        return
    except SignalingError as err:
        assert err.code == "bad_sdp" and err.reply["request_id"] is not None, err.reply
    await peer.publish(NumberedVideoTrack())  # the same membership publishes for real afterwards
    assert len(sfu_server.app[keys.REGISTRY].get("half").producers()) == 1
