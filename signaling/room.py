"""A room: its participants, its media router, and the events they tell each other."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from media.adaptive.allocator import StreamAllocator
from media.adaptive.renditions import Renditions
from media.sfu.producer import Producer
from media.sfu.router import Router
from media.sfu.transport import PublishTransport, SubscribeTransport

from .grants import Grant

_ids = itertools.count(1)


class Peer(Protocol):
    """The side of a session a room talks to."""

    def send(self, message: dict[str, Any]) -> None: ...


@dataclass(eq=False)
class Participant:
    room: Room
    grant: Grant
    peer: Peer
    id: str = field(default_factory=lambda: f"p-{next(_ids):x}")
    publish: PublishTransport | None = None
    subscribe: SubscribeTransport | None = None
    #: what this participant receives, adapted to its link (None when the server only forwards)
    allocator: StreamAllocator | None = None
    #: the task telling this publisher what its own link carries (None when the server only forwards)
    uplink: asyncio.Task[None] | None = None
    left: bool = False
    #: packets counted over this participant's producers at the last liveness check, and when they last grew
    media_packets: int = -1
    media_heard_at: float = field(default_factory=time.monotonic)

    @property
    def identity(self) -> str:
        return self.grant.identity

    def describe(self) -> dict[str, Any]:
        return {"participant_id": self.id, "identity": self.identity, "role": self.grant.role.value,
                "name": self.grant.name}

    def producers(self) -> list[Producer]:
        return list(self.publish.producers.values()) if self.publish else []


def describe_producer(producer: Producer) -> dict[str, Any]:
    return {
        "producer_id": producer.id,
        "participant_id": producer.owner_id,
        "kind": producer.kind,
        "paused": producer.paused,
    }


class Room:
    def __init__(self, name: str) -> None:
        self.name = name
        self.router = Router(name)
        #: shared transcoded renditions of this room's producers (None when the server only forwards)
        self.renditions: Renditions | None = None
        self.participants: dict[str, Participant] = {}

    def by_identity(self, identity: str) -> Participant | None:
        for participant in self.participants.values():
            if participant.identity == identity:
                return participant
        return None

    def producers(self) -> list[Producer]:
        return list(self.router.producers.values())

    def broadcast(self, message: dict[str, Any], *, exclude: Participant | None = None) -> None:
        message = {**message, "room": self.name}
        for participant in self.participants.values():
            if participant is not exclude:
                participant.peer.send(message)

    @property
    def empty(self) -> bool:
        return not self.participants

    def close(self) -> None:
        if self.renditions is not None:
            self.renditions.close()
        self.router.close()
