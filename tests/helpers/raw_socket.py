"""A bare signaling socket for protocol tests: send JSON, wait for the next message of a type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    """One client's /ws connection with no media: what a test needs to check message exchanges."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self._ids = 0
        self._arrived = asyncio.Event()
        # Always reading, so the client answers the server's pings (liveness) while a test waits elsewhere.
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.inbox.append(json.loads(frame.data))
                self._arrived.set()
        self._arrived.set()

    @classmethod
    async def open(cls, ws_url: str) -> RawSocket:
        http = aiohttp.ClientSession()
        return cls(http, await http.ws_connect(ws_url, autoping=True))

    async def send(self, message: dict[str, Any]) -> int:
        self._ids += 1
        await self.ws.send_str(json.dumps({**message, "request_id": self._ids}))
        return self._ids

    async def next(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The first message of type `kind` (with the fields in `match`), received or still to come."""
        async def wait() -> dict[str, Any]:
            while True:
                for index, message in enumerate(self.inbox):
                    if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                        return self.inbox.pop(index)
                if self._reader.done():
                    raise AssertionError(f"the socket closed while waiting for {kind}")
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def join(self, room: str, token: str) -> dict[str, Any]:
        request_id = await self.send({"type": "join", "room": room, "token": token})
        return await self.next("joined", request_id=request_id)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
        await self.http.close()
