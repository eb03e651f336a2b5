"""Static files under a content fingerprint: `<prefix>/v-<digest>/<name>` is cached for a year, because a
change to any file changes the digest and so every URL the pages emit.

The digest covers the whole directory, not each file: the room page's scripts import each other by
relative path (`./vaidya-client.js`, `./words/hi.js`), and those imports stay inside the fingerprinted
folder only if the fingerprint is a folder. The plain `<prefix>/<name>` keeps working (revalidated on every
use) for links written before a deploy. A patient on 2G downloads the scripts once, not on every page.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

import brotli
from aiohttp import web
from aiohttp.web import ContentCoding

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
#: Kinds of files worth compressing (images and PDFs are compressed already).
TEXT_SUFFIXES = frozenset({".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map"})
MIN_COMPRESS_BYTES = 256
#: Brotli levels: the best for static files (compressed once, then kept), a fast one for pages made per
#: request (level 5 is about gzip's speed and still ~15 % smaller).
STATIC_BROTLI_QUALITY = 11
PAGE_BROTLI_QUALITY = 5


def directory_digest(directory: Path) -> str:
    """A short hash of every file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def accepted_coding(request: web.BaseRequest) -> str | None:
    """The coding to send: "br" if the client accepts it (browsers do over HTTPS), else "gzip", else None.
    Honours q-values: `br;q=0` refuses brotli."""
    weights: dict[str, float] = {}
    for part in request.headers.get("Accept-Encoding", "").lower().split(","):
        name, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip()] = weight
    for coding in ("br", "gzip"):
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


class StaticFiles:
    """One directory of static files, mounted at `mount` on an application whose URLs start `public`."""

    def __init__(self, directory: Path, mount: str = "/static", public: str = "/static") -> None:
        self.directory = directory.resolve()
        self.mount = mount.rstrip("/")
        self.public = public.rstrip("/")
        self.digest = directory_digest(self.directory) if self.directory.is_dir() else "none"
        self._brotli: dict[Path, tuple[tuple[int, int], bytes]] = {}

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
        headers = {"Cache-Control": IMMUTABLE if current else REVALIDATE}
        if path.suffix not in TEXT_SUFFIXES or path.stat().st_size < MIN_COMPRESS_BYTES:
            return web.FileResponse(path, headers=headers)
        headers["Vary"] = "Accept-Encoding"  # a shared cache keeps the plain and compressed copies apart
        coding = accepted_coding(request)
        if coding == "br":
            stat = path.stat()
            etag = f'"br-{stat.st_mtime_ns:x}-{stat.st_size:x}"'  # revalidation of the plain paths
            if etag in request.headers.get("If-None-Match", ""):
                return web.Response(status=304, headers={**headers, "ETag": etag})
            kind, _ = mimetypes.guess_type(path.name)
            return web.Response(body=self._brotli_of(path), content_type=kind or "application/octet-stream",
                                headers={**headers, "Content-Encoding": "br", "ETag": etag})
        response = web.FileResponse(path, headers=headers)
        if coding == "gzip":
            compress(response, "gzip")
        return response

    def _brotli_of(self, path: Path) -> bytes:
        """The file brotli-compressed at the best level, once per version of the file."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        kept = self._brotli.get(path)
        if kept is None or kept[0] != version:
            kept = (version, brotli.compress(path.read_bytes(), quality=STATIC_BROTLI_QUALITY))
            self._brotli[path] = kept
        return kept[1]


def compress(response: web.Response | web.FileResponse, coding: str) -> None:
    """Compress the body on the way out: gzip by aiohttp as it sends; brotli here, for a body made in memory."""
    response.headers["Vary"] = "Accept-Encoding"
    if coding == "br" and isinstance(response, web.Response) and isinstance(response.body, bytes):
        response.body = brotli.compress(response.body, quality=PAGE_BROTLI_QUALITY)
        response.headers["Content-Encoding"] = "br"
    else:
        response.enable_compression(ContentCoding.gzip)
