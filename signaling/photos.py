"""HD photos into a room over HTTP, in chunks that survive a weak link (docs/protocol.md, "Photos").

A photo is too big for the signaling socket (64 KiB frames, and it would queue behind every other message),
so the page uploads it beside the call: it announces the size and SHA-256, sends chunks at the offset the
server has, and after a failure asks how much arrived and carries on from there. The room token is the
authorisation (`Authorization: Bearer <token>`). Once every byte is in and the hash matches, the room's
`RoomLog` keeps it (its checks decide the type and size); the sender then sends `photo-sent` on its socket
and everyone in the room gets a `photo` message.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from . import keys
from .grants import Grant, TokenError, verify_token
from .protocol import is_room_name
from .room_log import PhotoRefused

#: The page sends chunks of this size; the server takes up to CHUNK_LIMIT in one request.
CHUNK_BYTES = 32 * 1024
CHUNK_LIMIT = 256 * 1024
#: Uploads in progress: per room, in all, and how long one may sit untouched before it is forgotten.
PENDING_PER_ROOM = 4
PENDING_TOTAL = 64
PENDING_IDLE_S = 600.0
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class PendingPhoto:
    """An upload in progress: what the sender announced and what has arrived so far."""

    room: str
    identity: str
    role: str
    size: int
    sha256: str
    data: bytearray = field(default_factory=bytearray)
    touched: float = field(default_factory=time.monotonic)


class PendingPhotos:
    """Uploads in progress, bounded in count and age (the bytes of each are bounded by its announced size)."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingPhoto] = {}

    def start(self, pending: PendingPhoto) -> str:
        now = time.monotonic()
        for upload_id, old in list(self._pending.items()):
            if now - old.touched > PENDING_IDLE_S:
                del self._pending[upload_id]
        in_room = sum(1 for p in self._pending.values() if p.room == pending.room)
        if in_room >= PENDING_PER_ROOM or len(self._pending) >= PENDING_TOTAL:
            raise json_error(429, "rate_limited", "too many photos on their way; try again soon")
        upload_id = "up-" + secrets.token_hex(12)
        self._pending[upload_id] = pending
        return upload_id

    def get(self, upload_id: str, room: str, identity: str) -> PendingPhoto:
        pending = self._pending.get(upload_id)
        if pending is None or pending.room != room or pending.identity != identity:
            raise json_error(404, "not_found", "no such upload (it may have expired: start again)")
        pending.touched = time.monotonic()
        return pending

    def finish(self, upload_id: str) -> None:
        self._pending.pop(upload_id, None)


PENDING: web.AppKey[PendingPhotos] = web.AppKey("pending_photos", PendingPhotos)


class _Refused(web.HTTPException):
    """An HTTP error with a JSON body {code, message, …}, the protocol's error codes over HTTP."""

    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"code": code, "message": message, **extra}),
                         content_type="application/json")


def json_error(status: int, code: str, message: str, **extra: object) -> web.HTTPException:
    return _Refused(status, code, message, **extra)


def _grant(request: web.Request) -> tuple[str, Grant]:
    room = request.match_info["name"]
    if not is_room_name(room):
        raise json_error(404, "not_found", "no such room name")
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        return room, verify_token(request.app[keys.CONFIG].secret, token, room)
    except TokenError as exc:
        raise json_error(401, exc.code, exc.message) from None


async def start_upload(request: web.Request) -> web.Response:
    """POST /room/{name}/photos {size, sha256} → 201 {upload_id, received: 0, chunk_bytes}."""
    room, grant = _grant(request)
    if not grant.publish:
        raise json_error(403, "forbidden", "this token may not send anything into the room")
    try:
        body = await request.json()
        size, sha256 = body["size"], str(body["sha256"]).lower()
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested too deep
        raise json_error(400, "bad_message", "send JSON {size, sha256}") from None
    limit = request.app[keys.ROOM_LOG].max_photo_bytes
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0 or not SHA256_HEX.match(sha256):
        raise json_error(400, "bad_message", "size must be a positive integer, sha256 64 hex digits")
    if size > limit:
        raise json_error(413, "too_large", f"photos are limited to {limit} bytes")
    upload_id = request.app[PENDING].start(PendingPhoto(room, grant.identity, grant.role.value, size, sha256))
    return web.json_response({"upload_id": upload_id, "received": 0, "size": size, "chunk_bytes": CHUNK_BYTES},
                             status=201)


async def upload_state(request: web.Request) -> web.Response:
    """GET /room/{name}/photos/uploads/{upload_id} → {received, size}: where to carry on after a failure."""
    room, grant = _grant(request)
    pending = request.app[PENDING].get(request.match_info["upload_id"], room, grant.identity)
    return web.json_response({"received": len(pending.data), "size": pending.size})


async def upload_chunk(request: web.Request) -> web.Response:
    """PUT /room/{name}/photos/uploads/{upload_id}?offset=N with the bytes from N on. 200 {received} while
    bytes are missing; 201 {photo} once the photo is whole, checked and kept; 409 {received} for a wrong offset."""
    room, grant = _grant(request)
    upload_id = request.match_info["upload_id"]
    uploads = request.app[PENDING]
    pending = uploads.get(upload_id, room, grant.identity)
    try:
        offset = int(request.query.get("offset", ""))
    except ValueError:
        raise json_error(400, "bad_message", "offset must be an integer") from None
    if offset != len(pending.data):
        raise json_error(409, "bad_state", "carry on from the bytes already received",
                         received=len(pending.data))
    if request.content_length is not None and request.content_length > CHUNK_LIMIT:
        raise json_error(413, "too_large", f"chunks are limited to {CHUNK_LIMIT} bytes")
    chunk = bytearray()
    while piece := await request.content.read(CHUNK_LIMIT + 1 - len(chunk)):
        chunk += piece  # a link that breaks mid-body raises here: nothing of this chunk is kept
    if request.content_length is not None and len(chunk) != request.content_length:
        raise json_error(400, "bad_message", "the chunk arrived cut short")
    if len(chunk) > CHUNK_LIMIT or offset + len(chunk) > pending.size:
        raise json_error(413, "too_large", "more bytes than the size announced")
    pending.data += chunk
    if len(pending.data) < pending.size:
        return web.json_response({"received": len(pending.data), "size": pending.size})
    uploads.finish(upload_id)
    content = bytes(pending.data)
    if hashlib.sha256(content).hexdigest() != pending.sha256:
        raise json_error(422, "bad_message", "the photo arrived damaged (SHA-256 differs): send it again")
    try:
        photo = await request.app[keys.ROOM_LOG].add_photo(room, pending.identity, pending.role, content, time.time())
    except PhotoRefused as exc:
        raise json_error(415, "bad_message", str(exc)) from None
    # The sender then tells the room with `photo-sent` over its socket (the room may live in a worker).
    return web.json_response({"photo": photo.public(room)}, status=201)


async def get_photo(request: web.Request) -> web.Response:
    """GET /room/{name}/photos/{photo_id}: the photo's bytes, for anyone holding a token for this room."""
    room, _grant_ = _grant(request)
    found = await request.app[keys.ROOM_LOG].photo_content(room, request.match_info["photo_id"])
    if found is None:
        raise json_error(404, "not_found", "no such photo in this room")
    photo, content = found
    return web.Response(body=content, content_type=photo.content_type,
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def setup(app: web.Application) -> None:
    """Mount the photo routes."""
    app[PENDING] = PendingPhotos()
    app.router.add_post("/room/{name}/photos", start_upload)
    app.router.add_get("/room/{name}/photos/uploads/{upload_id}", upload_state)
    app.router.add_put("/room/{name}/photos/uploads/{upload_id}", upload_chunk)
    app.router.add_get("/room/{name}/photos/{photo_id}", get_photo)
