"""A worker process: owns whole rooms and their peer connections; the front relays its clients to it.

`vaidya serve --workers N` starts N of these (signaling/front.py). Each runs the same `Session` and
`RoomRegistry` as the single-process server; a `RelayedSocket` stands in for the client's WebSocket, so
the protocol's rules (validation, rate limits, liveness, errors) live in one place whichever mode runs.
Run as `python -m signaling.worker FD`, FD being its end of the channel; the first frame is the config.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import sys
import time
from typing import Any

from aiohttp import WSMessage, WSMsgType

from media.adaptive.ladder import ladder_from_config
from media.sfu.aiortc_bridge import compact_rate_windows, restrict_host_addresses, wait_longer_for_consent

from .config import Config, load_config
from .memory import freeze_startup_objects, trim_periodically
from .registry import RoomRegistry
from .room_log import MemoryRoomLog, RoomHistory
from .session import Session
from .worker_channel import read_frame, write_frame

log = logging.getLogger(__name__)

#: How often a worker tells the front its load (placement reads it; so does /metrics).
LOAD_INTERVAL_S = 1.0


class RelayedSocket:
    """The client's WebSocket as a worker's Session sees it: frames relayed by the front, and back."""

    def __init__(self, conn: int, writer: asyncio.StreamWriter) -> None:
        self.conn = conn
        self._writer = writer
        self._frames: asyncio.Queue[WSMessage | None] = asyncio.Queue()
        self.closed = False

    def feed(self, frame: WSMessage | None) -> None:
        """A frame from the client (None: the client's socket has closed)."""
        self._frames.put_nowait(frame)

    def __aiter__(self) -> RelayedSocket:
        return self

    async def __anext__(self) -> WSMessage:
        frame = await self._frames.get()
        if frame is None:
            self.closed = True
            raise StopAsyncIteration
        return frame

    async def send_json(self, message: dict[str, Any]) -> None:
        if self.closed:
            raise ConnectionError("the client's socket has closed")
        frame: dict[str, Any] = {"c": self.conn, "s": json.dumps(message)}
        if message.get("type") == "left":  # the front frees the room's placement once nobody holds it
            frame["left"] = message.get("room")
        write_frame(self._writer, frame)

    async def ping(self, data: bytes = b"") -> None:
        if not self.closed:
            write_frame(self._writer, {"c": self.conn, "ping": 1})

    async def pong(self, data: bytes = b"") -> None:
        """The front answers the client's pings itself."""

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed:
            return False
        self.closed = True
        write_frame(self._writer, {"c": self.conn, "close": code, "reason": message.decode(errors="replace")})
        self.feed(None)
        return True


class LoadMeter:
    """This process's CPU share and packet rate since the last reading: what the front places rooms by."""

    def __init__(self, registry: RoomRegistry) -> None:
        self._registry = registry
        self._at = time.monotonic()
        self._cpu = time.process_time()
        self._packets = 0

    def reading(self) -> dict[str, Any]:
        now, cpu = time.monotonic(), time.process_time()
        totals = self._registry.totals()
        packets = totals.packets_received + totals.packets_forwarded
        elapsed = max(now - self._at, 1e-6)
        reading = {
            "cpu": (cpu - self._cpu) / elapsed,
            "packets_per_s": (packets - self._packets) / elapsed,
            **self._registry.snapshot(),
            "totals": dataclasses.asdict(totals),
        }
        self._at, self._cpu, self._packets = now, cpu, packets
        return reading


class Worker:
    """Serves the front's channel: one Session per relayed client connection, a load report a second."""

    def __init__(self, config: Config, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 log: RoomHistory | None = None) -> None:
        self.config = config
        self.registry = RoomRegistry(ladder_from_config(config.ladder) if config.adaptive else None)
        #: where this worker's rooms keep chat and photos (docs/protocol.md, "Chat and photos")
        self.log = log or MemoryRoomLog()
        self._reader, self._writer = reader, writer
        self._sockets: dict[int, RelayedSocket] = {}
        self._sessions: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        reporter = asyncio.ensure_future(self._report_load())
        try:
            while (frame := await read_frame(self._reader)) is not None:
                self._dispatch(frame)
        finally:
            reporter.cancel()
            for sock in self._sockets.values():
                sock.feed(None)
            await asyncio.gather(*self._sessions, return_exceptions=True)
            self.registry.close()

    def _dispatch(self, frame: dict[str, Any]) -> None:
        conn = frame.get("c")
        if not isinstance(conn, int):
            log.warning("a channel frame without a connection: %r", sorted(frame))
            return
        sock = self._sockets.get(conn)
        if "end" in frame:
            if sock is not None:
                sock.feed(None)
            return
        if sock is None:
            sock = self._sockets[conn] = RelayedSocket(conn, self._writer)
            task = asyncio.ensure_future(self._serve(sock))
            self._sessions.add(task)
            task.add_done_callback(self._sessions.discard)
        if "t" in frame:
            sock.feed(WSMessage(WSMsgType.TEXT, frame["t"], None))
        elif "binary" in frame:
            sock.feed(WSMessage(WSMsgType.BINARY, b"", None))
        elif "heard" in frame:
            sock.feed(WSMessage(WSMsgType.PONG, b"", None))

    async def _serve(self, sock: RelayedSocket) -> None:
        try:
            await Session(sock, self.registry, self.config, self.log).run()
        finally:
            self._sockets.pop(sock.conn, None)
            if not sock.closed:  # the session ended on its own: the front forgets this connection here
                sock.closed = True
                write_frame(self._writer, {"c": sock.conn, "close": 1000, "reason": ""})

    async def _report_load(self) -> None:
        meter = LoadMeter(self.registry)
        while True:
            await asyncio.sleep(LOAD_INTERVAL_S)
            write_frame(self._writer, {"load": meter.reading()})


async def serve_channel(sock: socket.socket) -> None:
    """Read the config from the channel's first frame, then serve until the front goes away."""
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    hello = await read_frame(reader)
    if hello is None or not isinstance(hello.get("config"), dict):
        return
    config = load_config(None, hello["config"])
    logging.getLogger().setLevel(config.log_level)
    restrict_host_addresses([a.strip() for a in config.media_addresses.split(",") if a.strip()])
    wait_longer_for_consent()
    compact_rate_windows()
    freeze_startup_objects()
    trimming = asyncio.create_task(trim_periodically())  # MALLOC_ARENA_MAX came from the front's environment
    try:
        await _serve_rooms(config, reader, writer)
    finally:
        trimming.cancel()
    writer.close()


async def _serve_rooms(config: Config, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if config.records:
        # This process's composition root: on the node that keeps records, consultation rooms keep their
        # chat and photos in the portal's file, as the single-process server does (signaling/app.py).
        from portal.room_records import attach_room_log

        records = await attach_room_log(config)
        try:
            await Worker(config, reader, writer, records).run()
        finally:
            await records.db.close()
    elif config.redis_url:
        # A rooms-only node of a multi-node deployment: chat is kept with the record on the records node.
        from .directory import RedisRecordsFinder
        from .records_locator import RecordsLocator
        from .remote_room_history import RemoteRoomHistory

        finder = RedisRecordsFinder(config.redis_url)
        history = RemoteRoomHistory(RecordsLocator(finder), config.secret)
        try:
            await Worker(config, reader, writer, history).run()
        finally:
            await history.close()
            await finder.close()
    else:
        await Worker(config, reader, writer).run()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m signaling.worker FD  (started by `vaidya serve --workers N`)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s worker %(process)d %(name)s: %(message)s")
    logging.getLogger("aioice").setLevel(logging.WARNING)
    sock = socket.socket(fileno=int(args[0]))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.run
    runner(serve_channel(sock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
