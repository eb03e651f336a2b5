"""Signaling protocol v1 (docs/protocol.md): message types, validation and errors.

Pure: parsing and shaping only, no I/O. A message that fails here gets an `error` reply and touches nothing.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_ROOM_NAME = 64
MAX_SDP = 60 * 1024
MAX_REQUEST_ID = 64
MAX_TOKEN = 4096
#: A chat message: at most this many characters (after NFC normalisation).
MAX_CHAT_TEXT = 1000
#: Bidirectional embeddings, overrides and isolates: they can make a message display other than it reads.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ProtocolError(Exception):
    """A message the server will not act on. `code` is one of the documented error codes."""

    def __init__(self, code: str, message: str, request_id: Any = None, room: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.room = room


def is_room_name(value: str) -> bool:
    """1–64 letters, digits, '-', '_' or '.': the rule for room names everywhere."""
    return 0 < len(value) <= MAX_ROOM_NAME and all(c.isalnum() or c in "-_." for c in value)


def _room_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("room must be a non-empty string")
    if not is_room_name(value):
        raise ValueError(f"room must be 1–{MAX_ROOM_NAME} letters, digits, '-', '_' or '.'")
    return value


def _string(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value


def _token(value: Any) -> str:
    # A missing or empty token is refused at join with `token_missing`, not as a malformed message.
    if value is None or value == "":
        return ""
    return _string(value, "token", MAX_TOKEN)


def _kind(value: Any) -> str | None:
    if value is None or value in ("audio", "video"):
        return value
    raise ValueError('kind must be "audio", "video" or null')


def _candidate(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("candidate must be an object or null")
    line = value.get("candidate")
    if not isinstance(line, str) or len(line) > 1024:
        raise ValueError("candidate.candidate must be a string")
    mid = value.get("sdpMid")
    index = value.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise ValueError("candidate.sdpMid must be a string or null")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise ValueError("candidate.sdpMLineIndex must be a non-negative integer or null")
    return {"candidate": line, "sdpMid": mid, "sdpMLineIndex": index}


def chat_text(value: Any) -> str:
    """A chat message as the room keeps it: NFC, 1–MAX_CHAT_TEXT characters, no control character but
    newline, no bidi override or isolate, no lone surrogate. Joiners (ZWJ, ZWNJ) stay: Indic scripts need them."""
    if not isinstance(value, str):
        raise ValueError("text must be a string")
    text = unicodedata.normalize("NFC", value)
    if not text.strip():
        raise ValueError("text must not be empty")
    if len(text) > MAX_CHAT_TEXT:
        raise ValueError(f"text is longer than {MAX_CHAT_TEXT} characters")
    for ch in text:
        category = unicodedata.category(ch)
        if (category == "Cc" and ch != "\n") or category == "Cs":
            raise ValueError(f"text must not contain the control character U+{ord(ch):04X}")
        if ch in BIDI_CONTROLS:
            raise ValueError(f"text must not contain the bidirectional control U+{ord(ch):04X}")
    return text


TIERS = ("T0", "T1", "T2", "T3", "A")


def _tier(value: Any) -> str | None:
    if value is None or value in TIERS:
        return value
    raise ValueError(f"tier must be one of {', '.join(TIERS)} or null")


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _pc(value: Any) -> str:
    if value not in ("publish", "subscribe"):
        raise ValueError('pc must be "publish" or "subscribe"')
    return value


#: type -> {field: validator}; every field listed is required (validators accept null where allowed).
SCHEMAS: dict[str, dict[str, Any]] = {
    "join": {"room": _room_name, "token": _token},
    "publish": {"room": _room_name, "sdp": lambda v: _string(v, "sdp", MAX_SDP)},
    "answer": {"room": _room_name, "sdp": lambda v: _string(v, "sdp", MAX_SDP)},
    "ice": {"room": _room_name, "pc": _pc, "candidate": _candidate},
    "pause": {"room": _room_name, "kind": _kind},
    "resume": {"room": _room_name, "kind": _kind},
    "leave": {"room": _room_name},
    "pin": {"room": _room_name, "participant_id": lambda v: _string(v, "participant_id", 64), "tier": _tier},
    "save-data": {"room": _room_name, "enabled": lambda v: _bool(v, "enabled")},
    "chat": {"room": _room_name, "text": chat_text},
    "photo-request": {"room": _room_name,
                      "participant_id": lambda v: _string(v, "participant_id", 64)},
    "photo-sent": {"room": _room_name, "photo_id": lambda v: _string(v, "photo_id", 64)},
}
OPTIONAL_NULLABLE = {"kind", "candidate", "token", "tier"}


@dataclass(frozen=True)
class Message:
    type: str
    request_id: str | int | None
    fields: dict[str, Any]

    @property
    def room(self) -> str:
        return self.fields["room"]


def parse_message(text: str) -> Message:
    """Parse and validate one inbound frame; raise ProtocolError with the right code otherwise."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "the message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_json", "the message must be a JSON object")
    request_id = data.get("request_id")
    if request_id is not None and not _is_request_id(request_id):
        raise ProtocolError("bad_message", f"request_id must be a string of at most {MAX_REQUEST_ID} characters or an integer")
    kind = data.get("type")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}", request_id)
    fields: dict[str, Any] = {}
    for name, validate in schema.items():
        if name not in data and name not in OPTIONAL_NULLABLE:
            raise ProtocolError("bad_message", f"{kind}: field {name!r} is required", request_id, _safe_room(data))
        try:
            fields[name] = validate(data.get(name))
        except ValueError as exc:
            raise ProtocolError("bad_message", f"{kind}: {exc}", request_id, _safe_room(data)) from None
    return Message(kind, request_id, fields)


def _is_request_id(value: Any) -> bool:
    return (isinstance(value, str) and len(value) <= MAX_REQUEST_ID) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53)


def peek_request_id(text: str) -> str | int | None:
    """The frame's request_id if it is readable and valid, else None: lets a refusal that happens before
    parsing (rate limiting) still echo it."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if value is not None and _is_request_id(value) else None


def _safe_room(data: dict[str, Any]) -> str | None:
    room = data.get("room")
    return room if isinstance(room, str) and len(room) <= MAX_ROOM_NAME else None


def error(code: str, message: str, request_id: Any = None, room: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message, "request_id": request_id}
    if room is not None:
        reply["room"] = room
    return reply
