"""What a room keeps beyond its media: the chat said in it and the photos sent into it.

A room's session needs a `RoomHistory` (keep a line, read the lines and the photos); the photo upload
routes need the whole `RoomLog`, which also takes photos in. `MemoryRoomLog` keeps both in this process
(bounded), which is all a room with no consultation behind it has; the composition root (signaling/app.py)
installs the portal's log instead, which keeps a consultation's chat and photos with its record. A worker on
a rooms-only node asks the records node's log over HTTP (`remote_room_history.py`).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

#: Lines and photos kept per room in memory, and how many rooms' worth before the oldest room is dropped.
MEMORY_CHAT_LINES = 500
MEMORY_PHOTOS = 20
MEMORY_ROOMS = 1000
MAX_PHOTO_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ChatLine:
    """One chat message as every participant sees it."""

    chat_id: str
    identity: str
    role: str
    text: str
    at: float

    def public(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "identity": self.identity, "role": self.role, "text": self.text,
                "at": self.at}


@dataclass(frozen=True)
class Photo:
    """A photo sent into a room: who sent it, what it is, and its SHA-256 to check it arrived intact."""

    photo_id: str
    identity: str
    role: str
    content_type: str
    size: int
    sha256: str
    at: float

    def public(self, room: str) -> dict[str, Any]:
        return {"photo_id": self.photo_id, "identity": self.identity, "role": self.role,
                "content_type": self.content_type, "size": self.size, "sha256": self.sha256, "at": self.at,
                "url": f"/room/{room}/photos/{self.photo_id}"}


class PhotoRefused(Exception):
    """A photo the log will not keep (wrong type, too big, nowhere to keep it); the message says why."""


class RoomLogUnavailable(Exception):
    """The place that keeps the room's chat and photos cannot be reached just now: nothing was kept."""


class RoomHistory(Protocol):
    """What a room's session keeps and reads: chat lines, and the photos sent in; keyed by the room's name."""

    async def add_chat(self, room: str, identity: str, role: str, text: str, at: float) -> ChatLine: ...

    async def chat_history(self, room: str) -> list[ChatLine]: ...

    async def photos(self, room: str) -> list[Photo]: ...


class RoomLog(RoomHistory, Protocol):
    """A room's history that also takes photos in (signaling/photos.py) and gives their bytes back."""

    @property
    def max_photo_bytes(self) -> int: ...

    async def add_photo(self, room: str, identity: str, role: str, content: bytes, at: float) -> Photo: ...

    async def photo_content(self, room: str, photo_id: str) -> tuple[Photo, bytes] | None: ...


def refuse_photos(content: bytes) -> str:
    raise PhotoRefused("this server keeps no photos")


_chat_ids = itertools.count(1)


class MemoryRoomLog:
    """Chat and photos in this process's memory: replayed to whoever rejoins while the process lives.

    `image_type(content)` names the content type of an acceptable photo or raises PhotoRefused; the default
    refuses every photo (the checks belong to whoever keeps records, see portal/room_records.py)."""

    def __init__(self, image_type: Callable[[bytes], str] = refuse_photos,
                 max_photo_bytes: int = MAX_PHOTO_BYTES) -> None:
        self._image_type = image_type
        self._max_photo_bytes = max_photo_bytes
        self._chat: OrderedDict[str, list[ChatLine]] = OrderedDict()
        self._photos: OrderedDict[str, list[tuple[Photo, bytes]]] = OrderedDict()

    @property
    def max_photo_bytes(self) -> int:
        return self._max_photo_bytes

    @staticmethod
    def _room(table: OrderedDict[str, list[Any]], room: str) -> list[Any]:
        entries = table.setdefault(room, [])
        table.move_to_end(room)
        while len(table) > MEMORY_ROOMS:
            table.popitem(last=False)
        return entries

    async def add_chat(self, room: str, identity: str, role: str, text: str, at: float) -> ChatLine:
        line = ChatLine(f"m-{next(_chat_ids):x}", identity, role, text, at)
        lines = self._room(self._chat, room)
        lines.append(line)
        del lines[:-MEMORY_CHAT_LINES]
        return line

    async def chat_history(self, room: str) -> list[ChatLine]:
        return list(self._chat.get(room, []))

    async def add_photo(self, room: str, identity: str, role: str, content: bytes, at: float) -> Photo:
        if len(content) > self._max_photo_bytes:
            raise PhotoRefused(f"the photo is larger than {self._max_photo_bytes} bytes")
        kind = self._image_type(content)
        photo = Photo("ph-" + secrets.token_hex(8), identity, role, kind, len(content),
                      hashlib.sha256(content).hexdigest(), at)
        photos = self._room(self._photos, room)
        photos.append((photo, content))
        del photos[:-MEMORY_PHOTOS]
        return photo

    async def photos(self, room: str) -> list[Photo]:
        return [photo for photo, _ in self._photos.get(room, [])]

    async def photo_content(self, room: str, photo_id: str) -> tuple[Photo, bytes] | None:
        for photo, content in self._photos.get(room, []):
            if photo.photo_id == photo_id:
                return photo, content
        return None
