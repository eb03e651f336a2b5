"""A Python participant that speaks signaling protocol v1: real aiortc peer connections driven over the
WebSocket. Used by the tests and by bench/ as synthetic patients and doctors.

One `SignalingClient` is one WebSocket; each joined room is a `RoomPeer` with its own publish and
subscribe peer connections, exactly like a browser tab.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription


class SignalingError(Exception):
    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(f"{reply.get('code')}: {reply.get('message')}")
        self.code = reply.get("code")
        self.reply = reply


def _peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class RoomPeer:
    """This client's membership of one room."""

    def __init__(self, client: SignalingClient, room: str) -> None:
        self.client = client
        self.room = room
        self.joined: dict[str, Any] = {}
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None
        #: mid -> Producer description, as the server's latest offer listed them
        self.track_info: dict[str, dict[str, Any]] = {}
        #: producer id -> the remote track carrying it
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.events: list[dict[str, Any]] = []
        self.on_track: Callable[[MediaStreamTrack, dict[str, Any]], None] | None = None
        self.configure_subscribe_pc: Callable[[RTCPeerConnection], None] | None = None

    @property
    def participant_id(self) -> str:
        return self.joined["participant_id"]

    def track(self, kind: str, participant_id: str | None = None) -> MediaStreamTrack | None:
        """A received track of this kind (from this participant, if given), once it has arrived."""
        for info in self.track_info.values():
            if info["kind"] == kind and info["producer_id"] in self.tracks:
                if participant_id is None or info["participant_id"] == participant_id:
                    return self.tracks[info["producer_id"]]
        return None

    async def publish(self, *tracks: MediaStreamTrack, video_codec: str | None = None) -> dict[str, Any]:
        """Send these tracks to the room (one publish connection; call again to renegotiate).
        `video_codec` ("VP8" or "H264") offers only that codec for video, as a phone limited to it would."""
        if self.publish_pc is None:
            self.publish_pc = self.client.peer_connection_factory()
        for track in tracks:
            transceiver = self.publish_pc.addTransceiver(track, direction="sendonly")
            if video_codec and track.kind == "video":
                transceiver.setCodecPreferences(
                    [c for c in RTCRtpSender.getCapabilities("video").codecs
                     if c.mimeType.lower() in (f"video/{video_codec.lower()}", "video/rtx")]
                )
        await self.publish_pc.setLocalDescription(await self.publish_pc.createOffer())
        reply = await self.client.request(
            {"type": "publish", "room": self.room, "sdp": self.publish_pc.localDescription.sdp}
        )
        await self.publish_pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        return reply

    async def _got_offer(self, message: dict[str, Any]) -> None:
        if self.subscribe_pc is None:
            self.subscribe_pc = pc = self.client.peer_connection_factory()
            if self.configure_subscribe_pc:
                self.configure_subscribe_pc(pc)

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                for transceiver in pc.getTransceivers():
                    if transceiver.receiver.track is track:
                        info = self.track_info.get(transceiver.mid)
                        if info is not None:
                            self.tracks[info["producer_id"]] = track
                            if self.on_track:
                                self.on_track(track, info)

        self.track_info = dict(message.get("tracks", {}))
        pc = self.subscribe_pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.client.send({"type": "answer", "room": self.room, "sdp": pc.localDescription.sdp})

    async def pause(self, kind: str | None = None) -> dict[str, Any]:
        return await self.client.request({"type": "pause", "room": self.room, "kind": kind})

    async def resume(self, kind: str | None = None) -> dict[str, Any]:
        return await self.client.request({"type": "resume", "room": self.room, "kind": kind})

    async def pin(self, participant_id: str, tier: str | None) -> dict[str, Any]:
        """As a doctor: cap the video tier another participant receives (None lifts the cap)."""
        return await self.client.request({"type": "pin", "room": self.room, "participant_id": participant_id,
                                          "tier": tier})

    async def save_data(self, enabled: bool) -> dict[str, Any]:
        """Cap what this participant receives at the low-data tier, or lift that cap."""
        return await self.client.request({"type": "save-data", "room": self.room, "enabled": enabled})

    async def leave(self) -> None:
        if self.room in self.client.rooms:
            await self.client.request({"type": "leave", "room": self.room})
        await self.close()

    async def close(self) -> None:
        self.client.rooms.pop(self.room, None)
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()


class SignalingClient:
    """One WebSocket to the server; requests are matched to replies by request_id."""

    def __init__(self, url: str, peer_connection_factory: Callable[[], RTCPeerConnection] = _peer_connection) -> None:
        self.url = url
        #: makes this client's peer connections (bench/ passes one that routes media through its link shaper)
        self.peer_connection_factory = peer_connection_factory
        self.rooms: dict[str, RoomPeer] = {}
        self.errors: list[dict[str, Any]] = []
        #: called with every message that is not a reply, as it arrives (bench/ timestamps `quality` events)
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self) -> SignalingClient:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_json(message)

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as it is (text, or bytes as a binary frame): for tests of what the server refuses."""
        assert self._ws is not None
        if isinstance(data, bytes):
            await self._ws.send_bytes(data)
        else:
            await self._ws.send_str(data)

    async def request(self, message: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        """Send a message with a fresh request_id and wait for its reply; raise SignalingError on error."""
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.send({**message, "request_id": request_id})
        try:
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        if reply.get("type") == "error":
            raise SignalingError(reply)
        return reply

    async def join(
        self, room: str, token: str, configure_subscribe_pc: Callable[[RTCPeerConnection], None] | None = None
    ) -> RoomPeer:
        peer = RoomPeer(self, room)
        peer.configure_subscribe_pc = configure_subscribe_pc
        self.rooms[room] = peer
        try:
            peer.joined = await self.request({"type": "join", "room": room, "token": token})
        except Exception:
            self.rooms.pop(room, None)
            raise
        return peer

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            await self._read_frames()
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the signaling socket closed"))

    async def _read_frames(self) -> None:
        assert self._ws is not None
        async for frame in self._ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            message = frame.json()
            future = self._pending.get(message.get("request_id"))
            if future is not None and not future.done():
                future.set_result(message)
                continue
            if message.get("type") == "error":
                self.errors.append(message)
            for listener in self.listeners:
                listener(message)
            peer = self.rooms.get(message.get("room", ""))
            if peer is None:
                continue
            peer.events.append(message)
            if message.get("type") == "offer":
                task = asyncio.ensure_future(peer._got_offer(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def events(self, room: str, kind: str) -> list[dict[str, Any]]:
        peer = self.rooms.get(room)
        return [e for e in (peer.events if peer else []) if e.get("type") == kind]

    @property
    def closed(self) -> bool:
        return self._ws is None or self._ws.closed

    async def close(self) -> None:
        for peer in list(self.rooms.values()):
            await peer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
