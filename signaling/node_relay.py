"""A client's signaling relayed to the node that owns its room (multi-node, docs/scale.md "Nodes").

A client may reach any node (a load balancer picks one). For a room another node owns, this node's
front opens one WebSocket per (client, owning node) to that node's `/ws` and relays the client's
messages for that room both ways. The owning node sees an ordinary client. Media does not come this way:
the owner's workers gather their own ICE candidates, so the browser's UDP goes straight to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from .directory import Node

log = logging.getLogger(__name__)


class NodeLink:
    """One client's relay to one other node: texts out, texts back, and a callback when it breaks."""

    def __init__(self, node: Node, deliver: Callable[[str], None], broken: Callable[[], Awaitable[None]]) -> None:
        self.node = node
        self._deliver = deliver
        self._broken = broken
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self, http: aiohttp.ClientSession) -> None:
        """Connect (raises OSError / aiohttp.ClientError when the node cannot be reached)."""
        self._ws = await http.ws_connect(self.node.url, autoping=True, timeout=aiohttp.ClientWSTimeout(ws_close=2.0))
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._deliver(frame.data)
        finally:
            if not self._closing:
                log.info("the relay to node %s closed", self.node.id)
                await self._broken()

    async def send(self, text: str) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(text)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
