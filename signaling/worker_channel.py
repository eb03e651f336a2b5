"""The front ↔ worker channel: JSON objects in length-prefixed frames over one Unix socket pair.

One channel per worker carries every client connection the front relays to it; each frame names its
connection (`c`). What the frames mean is in docs/scale.md ("Workers"): the front sends a client's text
frames (`t`), signs of life (`heard`) and its end (`end`); the worker sends messages for the client (`m`),
ping and close requests, and its load (`load`) once a second.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

_LENGTH = struct.Struct("!I")
#: A frame carries one signaling message (≤ 64 KiB by default, an SDP at most) plus a few fields.
MAX_FRAME_BYTES = 4 * 1024 * 1024


class ChannelError(Exception):
    """The other side sent something that is not a frame: the channel cannot be trusted any more."""


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next frame, or None when the other side has gone."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        if length > MAX_FRAME_BYTES:
            raise ChannelError(f"a frame of {length} bytes")
        body = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    frame = json.loads(body)
    if not isinstance(frame, dict):
        raise ChannelError("a frame that is not an object")
    return frame


def write_frame(writer: asyncio.StreamWriter, frame: dict[str, Any]) -> None:
    """Queue one frame; the transport writes it without blocking the caller."""
    if writer.is_closing():
        return
    body = json.dumps(frame, separators=(",", ":")).encode()
    writer.write(_LENGTH.pack(len(body)) + body)
