"""One client's WebSocket session: reads protocol messages and acts on rooms (got_join, got_publish, …).

Every message is handled in order; a bad one gets an `error` reply and changes nothing else. Messages
to the client go through a bounded queue and a writer task, so one slow client never stalls a room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from aiohttp import WSMessage, WSMsgType

from media.adaptive.allocator import Quality, StreamAllocator
from media.adaptive.uplink import UplinkBudget, UplinkGovernor, UplinkMeter, govern_uplink
from media.sfu.aiortc_bridge import received_packets
from media.sfu.transport import PublishTransport, SdpError, SubscribeTransport

from .config import Config
from .grants import TokenError, verify_token
from .log_limit import RepeatLimitedLog
from .protocol import Message, ProtocolError, error, parse_message, peek_request_id
from .ratelimit import TokenBucket
from .registry import RoomRegistry
from .room import Participant, describe_producer
from .room_log import RoomHistory, RoomLogUnavailable

log = logging.getLogger(__name__)
#: Malformed messages and server faults, logged once per kind and minute with a count (not once each).
bad_input_log = RepeatLimitedLog(log)
#: Codes that say the client sent something unusable (logged, rate-limited); the others are normal refusals.
BAD_INPUT_CODES = frozenset({"bad_json", "unknown_type", "bad_message", "bad_sdp", "token_invalid"})

OUTBOX_LIMIT = 512
PING_INTERVAL_S = 1.5
LIVENESS_CHECK_S = 0.5


class ClientSocket(Protocol):
    """The client's WebSocket: aiohttp's own, or a worker's `RelayedSocket` (signaling/worker.py)."""

    @property
    def closed(self) -> bool: ...

    def __aiter__(self) -> AsyncIterator[WSMessage]: ...

    async def send_json(self, data: Any) -> None: ...

    async def ping(self, message: bytes = b"") -> None: ...

    async def pong(self, message: bytes = b"") -> None: ...

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool: ...


class Session:
    def __init__(self, ws: ClientSocket, registry: RoomRegistry, config: Config, log: RoomHistory) -> None:
        self.ws = ws
        self.registry = registry
        self.config = config
        self.log = log
        self.memberships: dict[str, Participant] = {}
        self._bucket = TokenBucket(config.ws_rate_burst, config.ws_rate_per_s)
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(OUTBOX_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self._negotiations: set[asyncio.Task[None]] = set()
        self._last_heard = time.monotonic()
        self.closed = False

    # -- transport ---------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing a session whose client does not read its messages")
            asyncio.ensure_future(self.ws.close(code=1008, message=b"too slow"))

    async def _write(self) -> None:
        while True:
            message = await self._outbox.get()
            if message is None or self.ws.closed:
                return
            try:
                await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):
                return

    async def run(self) -> None:
        self._writer = asyncio.ensure_future(self._write())
        liveness = asyncio.ensure_future(self._watch_liveness())
        try:
            async for frame in self.ws:
                self._last_heard = time.monotonic()
                if frame.type == WSMsgType.TEXT:
                    await self.handle(frame.data)
                elif frame.type == WSMsgType.PING:
                    await self.ws.pong(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    bad_input_log.info("bad_json", "bad input from a client: a binary frame")
                    self.send(error("bad_json", "binary frames are not accepted"))
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            liveness.cancel()
            # aiohttp may cancel this handler when the client vanishes: cleanup must still run to the end.
            await asyncio.shield(self.close())

    async def _watch_liveness(self) -> None:
        """Ping every PING_INTERVAL_S; close the socket once neither it nor any of this client's media
        connections has carried anything for `peer_timeout_s`. Media counts as a sign of life, so a
        client on a congested 2G link whose pongs queue behind video is not dropped while its media flows."""
        last_ping = 0.0
        media_seen = -1
        checked = time.monotonic()
        while True:
            await asyncio.sleep(LIVENESS_CHECK_S)
            now = time.monotonic()
            stalled = now - checked > 4 * LIVENESS_CHECK_S
            checked = now
            if stalled:
                # This process itself stalled: what arrived meanwhile is still unread, so judge nobody.
                self._last_heard = max(self._last_heard, now - LIVENESS_CHECK_S)
                for participant in self.memberships.values():
                    participant.media_heard_at = max(participant.media_heard_at, now - LIVENESS_CHECK_S)
            for name, participant in list(self.memberships.items()):
                if self._publisher_media_lost(participant, now):
                    log.info("no media from a publisher in room %s for %.1f s: removing it", name,
                             now - participant.media_heard_at)
                    await self.leave_room(name, notify=True, reason="media_timeout")
            media = sum(received_packets(t.pc) for p in self.memberships.values() for t in (p.publish, p.subscribe) if t)
            if media != media_seen:
                media_seen = media
                self._last_heard = now
            if now - self._last_heard > self.config.peer_timeout_s:
                log.info("closing a silent session (nothing heard for %.1f s)", now - self._last_heard)
                await asyncio.shield(self.close())  # leave the rooms first: a dead peer never answers a close
                await self.ws.close(code=1001, message=b"timeout")
                return
            if now - last_ping >= PING_INTERVAL_S:
                last_ping = now
                try:
                    await self.ws.ping()
                except (ConnectionError, RuntimeError):
                    return

    def _publisher_media_lost(self, participant: Participant, now: float) -> bool:
        """A publisher whose tracks have carried nothing for `peer_timeout_s` (three times that before
        the first packet, while ICE and DTLS connect over a slow link) has lost its media path, even if
        its WebSocket still answers."""
        producers = participant.producers()
        packets = sum(p.stats.packets for p in producers)
        if not producers or packets != participant.media_packets:
            participant.media_packets = packets
            participant.media_heard_at = now
            return False
        limit = self.config.peer_timeout_s * (1 if packets else 3)
        return now - participant.media_heard_at > limit

    async def handle(self, text: str) -> None:
        too_large = len(text.encode()) > self.config.ws_max_message
        if not self._bucket.take():
            bad_input_log.info("rate_limited", "a client sends too many messages: dropping them")
            self.send(error("rate_limited", "too many messages; slow down",
                            None if too_large else peek_request_id(text)))
            return
        if too_large:
            bad_input_log.info("too_large", "bad input from a client: a message over %d bytes",
                               self.config.ws_max_message)
            self.send(error("too_large", f"messages are limited to {self.config.ws_max_message} bytes"))
            return
        message: Message | None = None
        try:
            message = parse_message(text)
            handler = getattr(self, "got_" + message.type.replace("-", "_"))
            await handler(message)
        except ProtocolError as exc:
            if exc.code in BAD_INPUT_CODES:
                bad_input_log.info(exc.code, "bad input from a client: %s: %.200s", exc.code, exc.message)
            self.send(error(exc.code, exc.message, exc.request_id, exc.room))
        except Exception as exc:
            request_id = message.request_id if message is not None else None
            room = message.room if message is not None else None
            bad_input_log.exception(f"internal:{type(exc).__name__}", "internal error handling a %s message "
                                    "(request_id %r)", message.type if message else "?", request_id)
            self.send(error("internal", "the server failed to handle this message", request_id, room))

    # -- handlers ----------------------------------------------------------------------------------

    def _member(self, message: Message) -> Participant:
        participant = self.memberships.get(message.room)
        if participant is None:
            raise ProtocolError("not_joined", f"not in room {message.room!r}", message.request_id, message.room)
        return participant

    async def got_join(self, message: Message) -> None:
        name = message.room
        if name in self.memberships:
            raise ProtocolError("already_joined", f"already in room {name!r}", message.request_id, name)
        try:
            grant = verify_token(self.config.secret, message.fields["token"], name)
        except TokenError as exc:
            raise ProtocolError(exc.code, exc.message, message.request_id, name) from None
        room = self.registry.get_or_create(name)
        previous = room.by_identity(grant.identity)
        if previous is not None:
            previous.peer.send(error("replaced", "you joined this room again elsewhere", None, name))
            owner = previous.peer
            if isinstance(owner, Session):
                await owner.leave_room(name, notify=True, reason="replaced")
        participant = Participant(room=room, grant=grant, peer=self)
        fec = self.config.fec and room.renditions is not None
        if grant.subscribe:
            participant.subscribe = SubscribeTransport(
                room.router,
                participant.id,
                on_failed=lambda: self._connection_failed(name),
                on_change=lambda: self._renegotiate_soon(participant),
                offer_fec=fec,
            )
        if participant.subscribe is not None and room.renditions is not None:
            allocator = participant.allocator = StreamAllocator(
                room.renditions, on_quality=lambda consumer, quality: self._send_quality(name, quality), fec=fec)
            participant.subscribe.on_consume.append(allocator.add)
            allocator.start()
        room.participants[participant.id] = participant
        self.memberships[name] = participant
        # Read after joining: a line said meanwhile arrives twice (here and as `chat`), never not at all.
        try:
            history, photos = await asyncio.gather(self.log.chat_history(name), self.log.photos(name))
        except RoomLogUnavailable as exc:  # the call matters more than its history: join without it
            log.warning("joined room %s without its history: %s", name, exc)
            history, photos = [], []
        except Exception:
            log.exception("could not read the history of room %s", name)
            history, photos = [], []
        self.send(
            {
                "type": "joined",
                "request_id": message.request_id,
                "room": name,
                **participant.describe(),
                "participants": [p.describe() for p in room.participants.values() if p is not participant],
                "producers": [describe_producer(p) for p in room.producers()],
                "ice_servers": self.config.ice_servers(grant.identity),
                "chat": [line.public() for line in history],
                "photos": [photo.public(name) for photo in photos],
            }
        )
        room.broadcast({"type": "participant-joined", "participant": participant.describe()}, exclude=participant)
        if participant.subscribe is not None:
            for producer in room.producers():
                participant.subscribe.consume(producer)

    async def got_publish(self, message: Message) -> None:
        participant = self._member(message)
        if not participant.grant.publish:
            raise ProtocolError("forbidden", "this token may not publish", message.request_id, message.room)
        room = participant.room
        if participant.publish is None:
            participant.publish = PublishTransport(
                room.router, participant.id, on_failed=lambda: self._connection_failed(message.room)
            )
            if participant.subscribe is not None:
                participant.publish.rtt_s = participant.subscribe.rtt_s
            if room.renditions is not None:
                self._govern_uplink(participant)
        try:
            sdp, added, removed = await participant.publish.handle_offer(message.fields["sdp"])
        except SdpError as exc:
            transport, participant.publish = participant.publish, None
            if participant.uplink is not None:
                participant.uplink.cancel()
                participant.uplink = None
            gone = list(transport.producers.values())
            await transport.close()
            for producer in gone:
                room.broadcast({"type": "track-unpublished", "producer_id": producer.id}, exclude=participant)
            raise ProtocolError("bad_sdp", f"the offer could not be applied: {exc}", message.request_id,
                                message.room) from None
        self.send({"type": "answer", "request_id": message.request_id, "room": message.room, "pc": "publish",
                   "sdp": sdp})
        for producer in removed:
            room.broadcast({"type": "track-unpublished", "producer_id": producer.id}, exclude=participant)
        for producer in added:
            room.broadcast({"type": "track-published", "producer": describe_producer(producer)}, exclude=participant)
            for other in room.participants.values():
                if other is not participant and other.subscribe is not None:
                    other.subscribe.consume(producer)

    async def got_answer(self, message: Message) -> None:
        participant = self._member(message)
        subscribe = participant.subscribe
        if subscribe is None or not subscribe.offer_pending:
            raise ProtocolError("bad_state", "no server offer is waiting for an answer", message.request_id,
                                message.room)
        try:
            await subscribe.handle_answer(message.fields["sdp"])
        except SdpError as exc:
            raise ProtocolError("bad_sdp", f"the answer could not be applied: {exc}", message.request_id,
                                message.room) from None
        if subscribe.dirty:
            self._renegotiate_soon(participant)

    async def got_ice(self, message: Message) -> None:
        participant = self._member(message)
        transport = participant.publish if message.fields["pc"] == "publish" else participant.subscribe
        if transport is None:
            raise ProtocolError("bad_state", f"no {message.fields['pc']} connection yet", message.request_id,
                                message.room)
        try:
            await transport.add_candidate(message.fields["candidate"])
        except (ValueError, IndexError) as exc:
            raise ProtocolError("bad_message", f"ice: bad candidate: {exc}", message.request_id,
                                message.room) from None

    async def got_pause(self, message: Message) -> None:
        await self._set_paused(message, True)

    async def got_resume(self, message: Message) -> None:
        await self._set_paused(message, False)

    async def _set_paused(self, message: Message, paused: bool) -> None:
        participant = self._member(message)
        kind = message.fields.get("kind")
        for producer in participant.producers():
            if kind is not None and producer.kind != kind or producer.paused == paused:
                continue
            if paused:
                producer.pause()
            else:
                producer.resume()
            event = "producer-paused" if paused else "producer-resumed"
            participant.room.broadcast({"type": event, "producer_id": producer.id}, exclude=participant)
        self.send({"type": "paused" if paused else "resumed", "request_id": message.request_id,
                   "room": message.room})

    async def got_pin(self, message: Message) -> None:
        participant = self._member(message)
        if participant.grant.role.value != "doctor":
            raise ProtocolError("forbidden", "only a doctor may pin what another participant receives",
                                message.request_id, message.room)
        target = participant.room.participants.get(message.fields["participant_id"])
        if target is None:
            raise ProtocolError("not_found", "no such participant in this room", message.request_id, message.room)
        if target.allocator is None:
            raise ProtocolError("bad_state", "this participant's quality is not adapted (adaptation is off, or it "
                                "does not subscribe)", message.request_id, message.room)
        target.allocator.set_pin(message.fields["tier"])
        self.send({"type": "pinned", "request_id": message.request_id, "room": message.room})

    async def got_save_data(self, message: Message) -> None:
        participant = self._member(message)
        if participant.allocator is None:
            raise ProtocolError("bad_state", "adaptation is off on this server, or this token does not subscribe",
                                message.request_id, message.room)
        participant.allocator.set_save_data(message.fields["enabled"])
        self.send({"type": "save-data", "request_id": message.request_id, "room": message.room,
                   "enabled": message.fields["enabled"]})

    async def got_chat(self, message: Message) -> None:
        """Keep the line with the room's record, then give it to everyone in the room (the sender's copy
        is the reply: its `chat_id` and `at` are the server's)."""
        participant = self._member(message)
        try:
            line = await self.log.add_chat(message.room, participant.identity, participant.grant.role.value,
                                           message.fields["text"], time.time())
        except RoomLogUnavailable:
            raise ProtocolError("unavailable", "the message could not be kept just now: send it again",
                                message.request_id, message.room) from None
        event = {"type": "chat", "room": message.room, "participant_id": participant.id, "message": line.public()}
        participant.room.broadcast(event, exclude=participant)
        self.send({**event, "request_id": message.request_id})

    async def got_photo_request(self, message: Message) -> None:
        """A doctor asks one participant for a photo; that participant's page offers to take or pick one."""
        participant = self._member(message)
        if participant.grant.role.value != "doctor":
            raise ProtocolError("forbidden", "only a doctor may ask for a photo", message.request_id, message.room)
        target = participant.room.participants.get(message.fields["participant_id"])
        if target is None or target is participant:
            raise ProtocolError("not_found", "no such participant in this room", message.request_id, message.room)
        target.peer.send({"type": "photo-request", "room": message.room, "from": participant.describe()})
        self.send({"type": "photo-requested", "request_id": message.request_id, "room": message.room})

    async def got_photo_sent(self, message: Message) -> None:
        """The sender's photo is kept (HTTP upload, signaling/photos.py): now everyone in the room hears of it.
        Told over the socket, so the room's own process announces it, with or without worker processes."""
        participant = self._member(message)
        try:
            kept = await self.log.photos(message.room)
        except RoomLogUnavailable:
            raise ProtocolError("unavailable", "the room's photos cannot be read just now: try again",
                                message.request_id, message.room) from None
        photo = next((p for p in kept if p.photo_id == message.fields["photo_id"]), None)
        if photo is None or photo.identity != participant.identity:
            raise ProtocolError("not_found", "no such photo of yours in this room", message.request_id, message.room)
        event = {"type": "photo", "room": message.room, "photo": photo.public(message.room)}
        participant.room.broadcast(event, exclude=participant)
        self.send({**event, "request_id": message.request_id})

    def _govern_uplink(self, participant: Participant) -> None:
        """Tell this publisher what its own link carries (uplink-budget), and cap the REMB it gets."""
        transport, renditions = participant.publish, participant.room.renditions
        assert transport is not None and renditions is not None
        governor = UplinkGovernor(renditions.ladder)
        transport.remb_cap = governor.remb_cap
        transport.remb_floor = governor.remb_floor
        meter = UplinkMeter(lambda: transport.taps.values())
        room = participant.room.name

        async def send_budget(budget: UplinkBudget) -> None:
            fields = budget.message_fields()
            log.info("publisher %s in room %s: uplink budget %s", participant.id, room, fields)
            self.send({"type": "uplink-budget", "room": room, **fields})

        def path_stepped() -> None:
            # a phone's handover shows in its uplink's packets first: both directions drop to their lowest
            # picture now and climb back by their own rules (docs/adaptive.md)
            if participant.allocator is not None:
                participant.allocator.on_path_step()
            budget = governor.path_stepped(time.monotonic())
            if budget is not None:
                asyncio.ensure_future(send_budget(budget))

        transport.on_path_step = path_stepped
        if participant.uplink is not None:
            participant.uplink.cancel()
        participant.uplink = asyncio.ensure_future(govern_uplink(governor, meter, send_budget))

    def _send_quality(self, room: str, quality: Quality) -> None:
        self.send({"type": "quality", "room": room, "producer_id": quality.producer_id, "kind": quality.kind,
                   "tier": quality.tier, "reason": quality.reason, "width": quality.width,
                   "height": quality.height, "estimate_kbps": quality.estimate_kbps})

    async def got_leave(self, message: Message) -> None:
        self._member(message)
        await self.leave_room(message.room)
        self.send({"type": "left", "request_id": message.request_id, "room": message.room})

    # -- leaving -----------------------------------------------------------------------------------

    async def leave_room(self, name: str, notify: bool = False, reason: str | None = None) -> None:
        """Take this session out of one room: its producers and consumers close, the others are told."""
        participant = self.memberships.pop(name, None)
        if participant is None or participant.left:
            return
        participant.left = True
        room = participant.room
        room.participants.pop(participant.id, None)
        producers = participant.producers()
        if participant.allocator is not None:
            participant.allocator.close()
        if participant.uplink is not None:
            participant.uplink.cancel()
        if participant.publish is not None:
            await participant.publish.close()
        if participant.subscribe is not None:
            await participant.subscribe.close()
        for producer in producers:
            room.broadcast({"type": "track-unpublished", "producer_id": producer.id})
        room.broadcast({"type": "participant-left", "participant_id": participant.id})
        self.registry.release(room)
        if notify:
            self.send({"type": "left", "request_id": None, "room": name, "reason": reason})

    def _connection_failed(self, name: str) -> None:
        if name in self.memberships:
            log.info("peer connection failed in room %s: removing the participant", name)
            asyncio.ensure_future(self.leave_room(name, notify=True, reason="connection_failed"))

    # -- renegotiation -----------------------------------------------------------------------------

    def _renegotiate_soon(self, participant: Participant) -> None:
        """Offer the participant's subscribe connection again, once nothing else is outstanding.
        Deferred a tick so that changes made together land in one offer."""
        if participant.left or self.closed:
            return
        task = asyncio.ensure_future(self._renegotiate(participant))
        self._negotiations.add(task)
        task.add_done_callback(self._negotiations.discard)

    async def _renegotiate(self, participant: Participant) -> None:
        await asyncio.sleep(0)
        subscribe = participant.subscribe
        if subscribe is None or subscribe.closed or participant.left or subscribe.offer_pending or not subscribe.dirty:
            return
        try:
            sdp, tracks = await subscribe.create_offer()
        except Exception:
            if subscribe.closed or participant.left or subscribe.pc.signalingState == "closed":
                return  # the subscriber's connection ended while its offer was being made: nothing went wrong
            log.exception("could not create a subscribe offer")
            return
        if participant.left:
            return
        # a consumer on a transcoded tier forwards from its TierSource: the track is still its producer's
        producers = participant.room.router.producers
        self.send(
            {
                "type": "offer",
                "room": participant.room.name,
                "pc": "subscribe",
                "sdp": sdp,
                "tracks": {mid: describe_producer(producers[c.producer_id]) for mid, c in tracks.items()
                           if not c.closed and c.producer_id in producers},
            }
        )

    async def close(self) -> None:
        """Idempotent: leaves every room and stops the writer."""
        if self.closed:
            return
        for name in list(self.memberships):
            await self.leave_room(name)
        self.closed = True
        for task in list(self._negotiations):
            task.cancel()
        if not self._outbox.full():
            self._outbox.put_nowait(None)  # wakes the writer so it ends
        if self._writer is not None:
            self._writer.cancel()
