"""Static files under a content fingerprint: `<prefix>/v-<digest>/<name>` is cached for a year, because a
change to any file changes the digest and so every URL the pages emit.

The digest covers the whole directory, not each file: the room page's scripts import each other by
relative path (`./vaidya-client.js`, `./words/hi.js`), and those imports stay inside the fingerprinted
folder only if the fingerprint is a folder. The plain `<prefix>/<name>` keeps working (revalidated on every
use) for links written before a deploy. A patient on 2G downloads the scripts once, not on every page.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web
from aiohttp.web import ContentCoding

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
#: Kinds of files worth compressing (images and PDFs are compressed already).
TEXT_SUFFIXES = frozenset({".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map"})
MIN_COMPRESS_BYTES = 256


def directory_digest(directory: Path) -> str:
    """A short hash of every file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def wants_gzip(request: web.BaseRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


class StaticFiles:
    """One directory of static files, mounted at `mount` on an application whose URLs start `public`."""

    def __init__(self, directory: Path, mount: str = "/static", public: str = "/static") -> None:
        self.directory = directory.resolve()
        self.mount = mount.rstrip("/")
        self.public = public.rstrip("/")
        self.digest = directory_digest(self.directory) if self.directory.is_dir() else "none"

    def url(self, name: str) -> str:
        """The fingerprinted URL of a file in the directory, e.g. url("room.css")."""
        return f"{self.public}/v-{self.digest}/{name.lstrip('/')}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.mount + "/v-{version:[0-9a-z]+}/{name:.+}", self._serve)
        app.router.add_get(self.mount + "/{name:.+}", self._serve)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = (self.directory / request.match_info["name"]).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            raise web.HTTPNotFound()
        current = request.match_info.get("version") == self.digest
        response = web.FileResponse(path, headers={"Cache-Control": IMMUTABLE if current else REVALIDATE})
        if path.suffix in TEXT_SUFFIXES:
            response.headers["Vary"] = "Accept-Encoding"  # a shared cache keeps the plain and gzip copies apart
            if wants_gzip(request) and path.stat().st_size >= MIN_COMPRESS_BYTES:
                compress(response)
        return response


def compress(response: web.StreamResponse) -> None:
    """gzip the body on the way out (every browser accepts it; brotli would need a dependency we lack)."""
    response.enable_compression(ContentCoding.gzip)
    response.headers["Vary"] = "Accept-Encoding"
