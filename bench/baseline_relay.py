"""The baseline for `vaidya-bench forward`: aiortc's stock relay path, serving the same protocol.

Each publisher's track is decoded by its aiortc receiver and fanned out with `MediaRelay`; each
subscriber's sender re-encodes it. This is what an SFU built from aiortc's own parts costs, measured in
the same invocation as ours. It speaks the subset of protocol v1 the benchmark uses (join, publish,
answer, ice, leave) and expects publishers to publish before subscribers join (no renegotiation).

Run: python -m bench.baseline_relay --port PORT   (secret from VAIDYA_SECRET)
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from media.sfu.aiortc_bridge import restrict_host_addresses
from media.sfu.transport import parse_candidate
from signaling.grants import TokenError, verify_token


class BaselineRoom:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: list[tuple[str, MediaStreamTrack]] = []  # (producer id, remote track)


def create_app(secret: str) -> web.Application:
    rooms: dict[str, BaselineRoom] = {}
    pcs: set[RTCPeerConnection] = set()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=2.0)
        await ws.prepare(request)
        mine: dict[tuple[str, str], RTCPeerConnection] = {}

        async def reply(message: dict[str, Any], request_id: Any, **fields: Any) -> None:
            await ws.send_json({**fields, "request_id": request_id, "room": message.get("room")})

        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = frame.json()
            kind, room_name, request_id = message.get("type"), message.get("room"), message.get("request_id")
            if kind == "join":
                try:
                    grant = verify_token(secret, message.get("token"), room_name)
                except TokenError as exc:
                    await reply(message, request_id, type="error", code=exc.code, message=exc.message)
                    continue
                room = rooms.setdefault(room_name, BaselineRoom())
                await reply(message, request_id, type="joined", participant_id=grant.identity,
                            identity=grant.identity, role=grant.role.value, participants=[], producers=[])
                if room.tracks:
                    pc = mine[(room_name, "subscribe")] = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                    pcs.add(pc)
                    tracks = {}
                    for producer_id, track in room.tracks:
                        pc.addTransceiver(room.relay.subscribe(track, buffered=False), direction="sendonly")
                        tracks[producer_id] = track.kind
                    await pc.setLocalDescription(await pc.createOffer())
                    infos = {
                        t.mid: {"producer_id": pid, "participant_id": "baseline", "kind": kind_, "paused": False}
                        for t, (pid, kind_) in zip(pc.getTransceivers(), tracks.items())
                    }
                    await ws.send_json({"type": "offer", "room": room_name, "pc": "subscribe",
                                        "sdp": pc.localDescription.sdp, "tracks": infos})
            elif kind == "publish":
                room = rooms[room_name]
                pc = mine[(room_name, "publish")] = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                pcs.add(pc)

                @pc.on("track")
                def on_track(track: MediaStreamTrack, room: BaselineRoom = room) -> None:
                    room.tracks.append((f"{id(track):x}", track))

                await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                await reply(message, request_id, type="answer", pc="publish", sdp=pc.localDescription.sdp)
            elif kind == "answer":
                pc = mine[(room_name, "subscribe")]
                await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="answer"))
            elif kind == "ice":
                pc = mine.get((room_name, message.get("pc")))
                candidate = parse_candidate(message.get("candidate"))
                if pc is not None and candidate is not None:
                    await pc.addIceCandidate(candidate)
            elif kind == "leave":
                await reply(message, request_id, type="left")
        for pc in mine.values():
            pcs.discard(pc)
            await pc.close()
        return ws

    async def close_all(app: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in list(pcs)), return_exceptions=True)

    app = web.Application()
    app.router.add_get("/ws", websocket)
    app.on_shutdown.append(close_all)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="aiortc MediaRelay baseline for vaidya-bench forward")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    restrict_host_addresses(["127.0.0.1"])
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = None
    web.run_app(create_app(os.environ["VAIDYA_SECRET"]), host="127.0.0.1", port=args.port, print=None, loop=loop)


if __name__ == "__main__":
    main()
