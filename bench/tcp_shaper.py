"""A TCP relay that paces each direction to a link's rate, and can cut its connections mid-stream.

bench/shaper.py shapes UDP (media). HTTP beside a call (a photo upload) runs over TCP, so tests that need a
slow HTTP path put this relay between the client and the server: bytes are read and passed on no faster than
`up_kbps` (client to server) and `down_kbps` (server to client); the sender's socket buffers fill and TCP's
own flow control slows the sender, as on a slow access link. `cut_after(n)` drops every open connection
once `n` more bytes have gone upstream: a link that fails in the middle of an upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

READ_BYTES = 1024


class TcpShaper:
    """127.0.0.1:<port> → `target`, paced; `connections` counts the ones accepted so far."""

    def __init__(self, target: tuple[str, int], up_kbps: float, down_kbps: float | None = None) -> None:
        self.target = target
        self.up_bps = up_kbps * 1000
        self.down_bps = (down_kbps or up_kbps) * 1000
        self.connections = 0
        self.bytes_up = 0
        self.cuts = 0
        self._cut_at: int | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[:2]

    def cut_after(self, more_bytes: int) -> None:
        """Drop every connection once `more_bytes` more have gone upstream (once)."""
        self._cut_at = self.bytes_up + more_bytes

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer, self.up_bps, upstream=True),
                             self._pump(up_reader, writer, self.down_bps, upstream=False),
                             return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, bps: float,
                    upstream: bool) -> None:
        next_free = time.monotonic()
        try:
            while data := await reader.read(READ_BYTES):
                next_free = max(next_free, time.monotonic()) + len(data) * 8 / bps
                await asyncio.sleep(max(0.0, next_free - time.monotonic()))
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.bytes_up += len(data)
                    if self._cut_at is not None and self.bytes_up >= self._cut_at:
                        self._cut_at = None
                        self.cuts += 1
                        self._drop_all()
                        return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
