"""A fuzzing client of the real signaling server: sends any frame and collects every reply it causes."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from signaling.client import SignalingClient, SignalingError

PROTOCOL_DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def documented_error_codes() -> set[str]:
    """The codes in docs/protocol.md's error table (a property that meets another code fails)."""
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    table = text[text.index("## Errors"):].split("\n## ", 1)[0]
    codes: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+)\|", table, re.M):
        codes.update(re.findall(r"`([a-z_]+)`", row))
    return codes


class FuzzPeer:
    """A SignalingClient that records every message and can wait until the server handled a frame."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.seen: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        client.listeners.append(self.seen.append)

    @classmethod
    async def connect(cls, url: str) -> FuzzPeer:
        return cls(await SignalingClient(url).connect())

    async def exchange(self, text: str | bytes) -> list[dict[str, Any]]:
        """Send one frame; return every message the server sent until it handled it. A second message (a
        `leave` of a room never joined) marks the end: the server handles one socket's frames in order."""
        start = len(self.seen)
        await self.client.send_raw(text)
        try:
            await self.client.request({"type": "leave", "room": f"sync-{next(self._ids)}"}, timeout=20)
        except SignalingError as exc:
            assert exc.code == "not_joined", exc.reply
        return self.seen[start:]
