"""The room registry: which rooms exist on this server. In memory by default, the embedded mode."""

from __future__ import annotations

from .room import Room


class RoomRegistry:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def get_or_create(self, name: str) -> Room:
        room = self._rooms.get(name)
        if room is None:
            room = self._rooms[name] = Room(name)
        return room

    def release(self, room: Room) -> None:
        """Drop a room once its last participant has gone."""
        if room.empty and self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            room.close()

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    def close(self) -> None:
        for room in list(self._rooms.values()):
            room.close()
        self._rooms.clear()
