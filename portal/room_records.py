"""A consultation's room chat and photos, kept with its record in the portal's SQLite file.

This is the `signaling.room_log.RoomLog` the composition root (signaling/app.py) installs: a room that
belongs to a consultation keeps its chat in `room_chat` and its photos as the patient's uploads (checked as
every upload is: type read from the bytes, size limit), linked to the consultation in `room_photos`. A room
with no consultation behind it (a development token's room) keeps both in memory, with the same checks.
The tables have their own version table, as Rx's do, so they never touch the portal's migration list.
With worker processes (docs/scale.md) each worker attaches its own log to the same file (`attach_room_log`):
the records process has migrated it and created these tables before any worker serves a client.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from signaling.room_log import ChatLine, MemoryRoomLog, Photo, PhotoRefused

from signaling.config import Config

from . import storage as st
from .db import DB_FILE, Database, connect
from .errors import Invalid
from .uploads import MAX_UPLOAD_BYTES, Uploads, sniff

VERSION_TABLE = "room_record_schema_version"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS room_chat (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation_id INTEGER NOT NULL REFERENCES consultations(id),
    identity TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS room_chat_consultation ON room_chat(consultation_id, id);
CREATE TABLE IF NOT EXISTS room_photos (
    upload_id INTEGER PRIMARY KEY REFERENCES uploads(id),
    consultation_id INTEGER NOT NULL REFERENCES consultations(id),
    identity TEXT NOT NULL,
    role TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS room_photos_consultation ON room_photos(consultation_id, upload_id)
"""
PHOTO_TYPES = ("image/jpeg", "image/png")


def photo_type(content: bytes) -> str:
    """The content type of an acceptable photo, read from its bytes (portal/uploads.py `sniff`)."""
    kind = sniff(content)
    if kind not in PHOTO_TYPES:
        raise PhotoRefused("only JPEG or PNG photos can be sent")
    return kind


@dataclass(frozen=True)
class RoomRecord:
    """What a consultation's summary shows of its room: the chat and the photos (as uploads)."""

    chat: list[ChatLine]
    photos: list[tuple[Photo, st.Upload]]


def _consultation_of(conn: sqlite3.Connection, room: str) -> sqlite3.Row | None:
    return conn.execute("SELECT id, patient_id, token_id FROM consultations WHERE room = ?", (room,)).fetchone()


def _chat(row: sqlite3.Row) -> ChatLine:
    return ChatLine(f"c-{row['id']}", row["identity"], row["role"], row["text"], row["at"])


def _photo(row: sqlite3.Row, upload: st.Upload) -> Photo:
    return Photo(f"u-{upload.id}", row["identity"], row["role"], upload.content_type, upload.size, upload.sha256,
                 row["at"])


def room_record(conn: sqlite3.Connection, consultation_id: int) -> RoomRecord:
    """A consultation's chat and photos, oldest first (for the doctor's consultation page)."""
    chat = [_chat(r) for r in conn.execute(
        "SELECT * FROM room_chat WHERE consultation_id = ? ORDER BY id", (consultation_id,))]
    photos = []
    for row in conn.execute("SELECT * FROM room_photos WHERE consultation_id = ? ORDER BY upload_id",
                            (consultation_id,)).fetchall():
        upload = st.get_upload(conn, row["upload_id"])
        photos.append((_photo(row, upload), upload))
    return RoomRecord(chat, photos)


class ConsultationRoomLog:
    """Chat and photos of consultation rooms in SQLite; of other rooms, in memory."""

    def __init__(self, db: Database, uploads: Uploads) -> None:
        self.db = db
        self.uploads = uploads
        self.loose = MemoryRoomLog(image_type=photo_type, max_photo_bytes=MAX_UPLOAD_BYTES)

    @property
    def max_photo_bytes(self) -> int:
        return MAX_UPLOAD_BYTES

    async def open(self) -> None:
        """Create the tables (once the portal's own schema exists: they refer to it)."""

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL, applied_at REAL NOT NULL)")
            found = conn.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()[0]
            if found is not None and found > SCHEMA_VERSION:
                raise RuntimeError(f"the room record tables are schema {found}, newer than this code")
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
            if found is None:
                conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, ?)", (SCHEMA_VERSION, time.time()))

        await self.db.run(create)

    async def add_chat(self, room: str, identity: str, role: str, text: str, at: float) -> ChatLine:
        def add(conn: sqlite3.Connection) -> ChatLine | None:
            consultation = _consultation_of(conn, room)
            if consultation is None:
                return None
            cur = conn.execute("INSERT INTO room_chat (consultation_id, identity, role, text, at) VALUES (?, ?, ?, ?, ?)",
                               (consultation["id"], identity, role, text, at))
            return ChatLine(f"c-{cur.lastrowid}", identity, role, text, at)

        return await self.db.run(add) or await self.loose.add_chat(room, identity, role, text, at)

    async def chat_history(self, room: str) -> list[ChatLine]:
        def read(conn: sqlite3.Connection) -> list[ChatLine] | None:
            consultation = _consultation_of(conn, room)
            return None if consultation is None else room_record(conn, consultation["id"]).chat

        found = await self.db.run(read)
        return found if found is not None else await self.loose.chat_history(room)

    async def add_photo(self, room: str, identity: str, role: str, content: bytes, at: float) -> Photo:
        consultation = await self.db.run(lambda conn: _consultation_of(conn, room))
        if consultation is None:
            return await self.loose.add_photo(room, identity, role, content, at)
        if len(content) > MAX_UPLOAD_BYTES:
            raise PhotoRefused(f"the photo is larger than {MAX_UPLOAD_BYTES} bytes")
        kind = photo_type(content)
        extension = "jpg" if kind == "image/jpeg" else "png"
        try:
            upload = await self.uploads.save(consultation["patient_id"], consultation["token_id"],
                                             f"photo-consultation-{consultation['id']}.{extension}", content, identity)
        except Invalid as exc:
            raise PhotoRefused(str(exc)) from None

        def link(conn: sqlite3.Connection) -> Photo:
            conn.execute("INSERT INTO room_photos (upload_id, consultation_id, identity, role, at) VALUES (?, ?, ?, ?, ?)",
                         (upload.id, consultation["id"], identity, role, at))
            row = conn.execute("SELECT * FROM room_photos WHERE upload_id = ?", (upload.id,)).fetchone()
            return _photo(row, upload)

        return await self.db.run(link)

    async def photos(self, room: str) -> list[Photo]:
        def read(conn: sqlite3.Connection) -> list[Photo] | None:
            consultation = _consultation_of(conn, room)
            return None if consultation is None else [p for p, _ in room_record(conn, consultation["id"]).photos]

        found = await self.db.run(read)
        return found if found is not None else await self.loose.photos(room)

    async def photo_content(self, room: str, photo_id: str) -> tuple[Photo, bytes] | None:
        if not photo_id.startswith("u-") or not photo_id[2:].isdigit():
            return await self.loose.photo_content(room, photo_id)
        upload_id = int(photo_id[2:])

        def find(conn: sqlite3.Connection) -> tuple[Photo, st.Upload] | None:
            row = conn.execute(
                "SELECT p.* FROM room_photos p JOIN consultations c ON c.id = p.consultation_id"
                " WHERE p.upload_id = ? AND c.room = ?", (upload_id, room)).fetchone()
            if row is None:
                return None
            upload = st.get_upload(conn, upload_id)
            return _photo(row, upload), upload

        found = await self.db.run(find)
        if found is None:
            return None
        photo, upload = found
        return photo, self.uploads.path_of(upload).read_bytes()


class _AttachedDatabase(Database):
    """The portal's file opened by another process (a worker): the process that keeps records migrates it."""

    def _open(self) -> sqlite3.Connection:
        return connect(self.path)


async def attach_room_log(config: Config) -> ConsultationRoomLog:
    """A worker process's room log on the records node's SQLite file (close it with `log.db.close()`)."""
    db = _AttachedDatabase(config.data_dir / DB_FILE)
    await db.open()
    return ConsultationRoomLog(db, Uploads(db, config.data_dir))
