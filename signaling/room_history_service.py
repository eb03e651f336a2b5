"""The records node keeps every consultation's room history, whichever node holds the room (multi-node,
docs/scale.md "Records").

A worker on a rooms-only node keeps a chat line, and reads a room's lines and photos, by asking this node
(`remote_room_history.py`); the answer comes from this node's `RoomLog`, the portal's SQLite file for a
consultation's room. Only fellow nodes may ask: each request is signed with the shared secret
(`node_signature.py`), because these endpoints take the caller's word for who said a line.

    GET  /internal/rooms/{name}/chat    → {"chat": [ChatLine]}
    POST /internal/rooms/{name}/chat    {identity, role, text, at} → 201 {"line": ChatLine}
    GET  /internal/rooms/{name}/photos  → {"photos": [Photo]}
"""

from __future__ import annotations

import dataclasses
import json

from aiohttp import web

from . import keys
from .node_signature import NODE_SIGNATURE, signed_by_a_node
from .photos import json_error
from .protocol import is_room_name

PREFIX = "/internal/rooms/"
#: A chat line is at most 1000 characters (docs/protocol.md): its request stays far below this.
MAX_BODY_BYTES = 64 * 1024


async def _checked(request: web.Request) -> tuple[str, bytes]:
    """The room's name and the request's body, once the signature holds."""
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise json_error(413, "too_large", f"requests are limited to {MAX_BODY_BYTES} bytes")
    if not signed_by_a_node(request.headers.get(NODE_SIGNATURE), request.app[keys.CONFIG].secret,
                            request.method, request.path_qs, body):
        raise json_error(403, "forbidden", "only a node of this deployment may ask")
    room = request.match_info["name"]
    if not is_room_name(room):
        raise json_error(400, "bad_message", "not a room name")
    return room, body


async def chat_history(request: web.Request) -> web.Response:
    room, _ = await _checked(request)
    lines = await request.app[keys.ROOM_LOG].chat_history(room)
    return web.json_response({"chat": [dataclasses.asdict(line) for line in lines]})


async def add_chat(request: web.Request) -> web.Response:
    room, body = await _checked(request)
    try:
        fields = json.loads(body)
        identity, role, text, at = fields["identity"], fields["role"], fields["text"], fields["at"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise json_error(400, "bad_message", "send JSON {identity, role, text, at}") from None
    if not all(isinstance(v, str) for v in (identity, role, text)) or not isinstance(at, (int, float)):
        raise json_error(400, "bad_message", "identity, role and text are strings, at a number")
    line = await request.app[keys.ROOM_LOG].add_chat(room, identity, role, text, float(at))
    return web.json_response({"line": dataclasses.asdict(line)}, status=201)


async def photos(request: web.Request) -> web.Response:
    room, _ = await _checked(request)
    kept = await request.app[keys.ROOM_LOG].photos(room)
    return web.json_response({"photos": [dataclasses.asdict(photo) for photo in kept]})


def setup(app: web.Application) -> None:
    """Mount the endpoints on the node that keeps the records."""
    app.router.add_get(PREFIX + "{name}/chat", chat_history)
    app.router.add_post(PREFIX + "{name}/chat", add_chat)
    app.router.add_get(PREFIX + "{name}/photos", photos)
