"""A worker on a rooms-only node keeps its rooms' chat with the record: it asks the records node
(`room_history_service.py`), found through Redis (`records_locator.py`), in requests signed with the
deployment's shared secret.

Nothing is kept here. When the records node cannot be reached, `RoomLogUnavailable` says so: the sender's
line is refused (the room page offers to send it again), never kept where no one would find it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from .node_signature import NODE_SIGNATURE, sign
from .records_locator import RecordsLocator
from .room_history_service import PREFIX
from .room_log import ChatLine, Photo, RoomLogUnavailable

log = logging.getLogger(__name__)

#: A chat line waits at most this for the records node (the sender then hears it was not kept); a join
#: waits at most READ_TIMEOUT_S for the room's history, then goes on without it.
WRITE_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 2.0


class RemoteRoomHistory:
    """The `RoomHistory` of rooms held here, kept by the records node."""

    def __init__(self, locator: RecordsLocator, secret: str) -> None:
        self._locator = locator
        self._secret = secret
        self._session: aiohttp.ClientSession | None = None

    async def _ask(self, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
        base = await self._locator.base()
        if base is None:
            raise RoomLogUnavailable("no node keeps the records right now")
        if self._session is None:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        body = b"" if fields is None else json.dumps(fields).encode()
        headers = {NODE_SIGNATURE: sign(self._secret, method, path, body), "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=READ_TIMEOUT_S if method == "GET" else WRITE_TIMEOUT_S)
        try:
            async with self._session.request(method, base + path, data=body, headers=headers,
                                             timeout=timeout) as reply:
                if reply.status >= 400:
                    raise RoomLogUnavailable(f"the records node answered {reply.status}: {await reply.text()}")
                return await reply.json()
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            self._locator.forget()
            log.warning("the records node at %s cannot keep room history: %s", base, exc)
            raise RoomLogUnavailable("the records node does not answer") from None

    async def add_chat(self, room: str, identity: str, role: str, text: str, at: float) -> ChatLine:
        reply = await self._ask("POST", f"{PREFIX}{room}/chat",
                                {"identity": identity, "role": role, "text": text, "at": at})
        return ChatLine(**reply["line"])

    async def chat_history(self, room: str) -> list[ChatLine]:
        reply = await self._ask("GET", f"{PREFIX}{room}/chat")
        return [ChatLine(**line) for line in reply["chat"]]

    async def photos(self, room: str) -> list[Photo]:
        reply = await self._ask("GET", f"{PREFIX}{room}/photos")
        return [Photo(**photo) for photo in reply["photos"]]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
