"""Reports a patient uploads (old prescriptions, lab reports): PDF, JPEG or PNG, size-limited, the type read
from the content (never the file name), stored under the data dir (outside any web root) by a random name.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from . import storage as st
from .datafiles import write_private
from .db import Database
from .errors import Invalid
from .i18n import N_
from .models import Upload

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_DIR = "uploads"

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff(content: bytes) -> str | None:
    """The content type the bytes really are, if one we accept."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    return None


def clean_filename(name: str) -> str:
    """A display name: no directories, no control characters, at most 100 characters."""
    base = os.path.basename(unquote(name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:100] or "report"


class Uploads:
    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.dir = data_dir / UPLOAD_DIR

    async def save(
        self, patient_id: str, token_id: int | None, filename: str, content: bytes, uploaded_by: str
    ) -> Upload:
        """Check and store one file; nothing is written if it is refused."""
        if not content:
            raise Invalid({"file": N_("Choose a file.")})
        if len(content) > MAX_UPLOAD_BYTES:
            raise Invalid({"file": N_("The file is too big. The limit is 5 MB.")})
        kind = sniff(content)
        if kind is None:
            raise Invalid({"file": N_("Only PDF, JPEG or PNG files can be sent.")})
        stored = secrets.token_hex(16)
        path = self.dir / stored
        write_private(path, content)  # synced before the row that names it is committed

        def record(conn: sqlite3.Connection) -> Upload:
            return st.add_upload(
                conn, patient_id=patient_id, token_id=token_id, filename=clean_filename(filename),
                content_type=kind, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                stored_name=stored, uploaded_by=uploaded_by,
            )

        try:
            return await self.db.run(record)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def path_of(self, upload: Upload) -> Path:
        return self.dir / upload.stored_name
