"""The room registry: which rooms exist on this server. In memory by default, the embedded mode."""

from __future__ import annotations

from media.adaptive.ladder import Ladder
from media.adaptive.renditions import Renditions
from media.sfu.stats import ForwardingTotals

from .room import Room


class RoomRegistry:
    def __init__(self, ladder: Ladder | None = None) -> None:
        """`ladder`: adapt to weak links with it (every room gets its Renditions); None forwards only."""
        self._ladder = ladder
        self._rooms: dict[str, Room] = {}
        self._closed_totals = ForwardingTotals()

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def get_or_create(self, name: str) -> Room:
        room = self._rooms.get(name)
        if room is None:
            room = self._rooms[name] = Room(name)
            if self._ladder is not None:
                room.renditions = Renditions(room.router, self._ladder)
        return room

    def release(self, room: Room) -> None:
        """Drop a room once its last participant has gone."""
        if room.empty and self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            room.close()
            self._closed_totals.add(room.router.totals())

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    def snapshot(self) -> dict[str, int]:
        """How much this registry holds now: rooms, participants, producers, consumers."""
        rooms = list(self._rooms.values())
        return {
            "rooms": len(rooms),
            "participants": sum(len(r.participants) for r in rooms),
            "producers": sum(len(r.producers()) for r in rooms),
            "consumers": sum(r.router.consumer_count for r in rooms),
        }

    def totals(self) -> ForwardingTotals:
        """What this server has received and forwarded since it started."""
        totals = ForwardingTotals().add(self._closed_totals)
        for room in self._rooms.values():
            totals.add(room.router.totals())
        return totals

    def close(self) -> None:
        for room in list(self._rooms.values()):
            room.close()
        self._rooms.clear()
