"""The front: with `--workers N` this process serves HTTP and the signaling WebSocket and keeps no media;
each room lives on one of N worker processes (signaling/worker.py), and the front relays its messages.

Media never passes through the front: a worker's peer connections gather their own ICE candidates, so
the browser's UDP goes straight to the worker that owns the room. A worker that dies is restarted; the
clients it served are disconnected with close code 1012 (service restart), and reconnect and rejoin by
themselves (the room page and vaidya-client.js do), landing on a live worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from media.sfu.stats import ForwardingTotals

from .config import Config
from .directory import DirectoryUnavailable, LocalDirectory, Node, RoomDirectory
from .node_relay import NodeLink
from .origin import require_allowed_origin
from .placement import RoomPlacement, WorkerLoad
from .protocol import error, is_room_name, peek_request_id
from .worker_channel import read_frame, write_frame

log = logging.getLogger(__name__)

#: WebSocket close code for "the server is restarting": clients reconnect and rejoin.
SERVICE_RESTART = 1012
#: A worker that died is started again after this pause (doubling while it keeps dying young, to 10 s).
RESTART_DELAY_S = 0.25
RESTART_DELAY_MAX_S = 10.0
#: A worker that ran this long before dying was not crash-looping: its next restart is immediate again.
HEALTHY_RUN_S = 30.0
#: Messages the front holds for one slow client before it closes that client (as Session does).
CLIENT_OUTBOX_LIMIT = 512
#: How long a join waits for an unreachable node's rooms to be declared dead and taken over.
OWNER_WAIT_S = 5.0


def config_fields(config: Config) -> dict[str, Any]:
    """The config as the worker rebuilds it (load_config), paths as strings."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(config).items()}


@dataclass(eq=False)
class ClientConnection:
    """One client's WebSocket at the front: the rooms it has asked for and the worker of each."""

    id: int
    ws: web.WebSocketResponse
    rooms: dict[str, int] = field(default_factory=dict)
    workers: set[int] = field(default_factory=set)
    #: rooms another node owns, and this client's relay to each such node
    remote_rooms: dict[str, str] = field(default_factory=dict)
    links: dict[str, NodeLink] = field(default_factory=dict)
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(CLIENT_OUTBOX_LIMIT))
    writer: asyncio.Task[None] | None = None

    def send(self, text: str) -> None:
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("closing a client that does not read its messages")
            asyncio.ensure_future(self.ws.close(code=1008, message=b"too slow"))

    async def write(self) -> None:
        while (text := await self.outbox.get()) is not None and not self.ws.closed:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


@dataclass(eq=False)
class WorkerHandle:
    index: int
    process: subprocess.Popen[bytes]
    writer: asyncio.StreamWriter
    reading: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0


class WorkerPool:
    """Starts the workers, places rooms on them, relays client frames both ways, restarts the dead."""

    def __init__(self, config: Config, count: int, directory: RoomDirectory | None = None) -> None:
        self.config = config
        self.directory = directory or LocalDirectory(Node("local", ""))
        self._http: Any = None  # the aiohttp client session for relays to other nodes, made on first use
        self.placement = RoomPlacement([WorkerLoad() for _ in range(count)])
        self.workers: list[WorkerHandle | None] = [None] * count
        self._clients: dict[int, ClientConnection] = {}
        self._next_id = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._restart_delay = [RESTART_DELAY_S] * count
        self._stopping = False
        #: counters of workers that died, so the node's totals never go backwards
        self.departed_totals = ForwardingTotals()

    # -- workers -----------------------------------------------------------------------------------

    async def start(self) -> None:
        for index in range(len(self.workers)):
            await self._spawn(index)
        await self.directory.start(self.placement.rooms, self.placement.lowest_load)

    async def _spawn(self, index: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = subprocess.Popen([sys.executable, "-m", "signaling.worker", str(theirs.fileno())],
                                   pass_fds=(theirs.fileno(),))
        theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        write_frame(writer, {"config": config_fields(self.config)})
        handle = WorkerHandle(index, process, writer, started_at=asyncio.get_running_loop().time())
        self.workers[index] = handle
        self.placement.worker_back(index)
        self._track(self._read_worker(handle, reader))
        log.info("worker %d started (pid %d)", index, process.pid)

    def _track(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_worker(self, handle: WorkerHandle, reader: asyncio.StreamReader) -> None:
        try:
            while (frame := await read_frame(reader)) is not None:
                self._from_worker(handle, frame)
        except Exception:
            log.exception("worker %d sent a frame the front cannot read", handle.index)
        if not self._stopping:
            await self._worker_died(handle)

    def _from_worker(self, handle: WorkerHandle, frame: dict[str, Any]) -> None:
        if "load" in frame:
            handle.reading = frame["load"]
            self.placement.report(handle.index, handle.reading.get("cpu", 0.0), handle.reading.get("packets_per_s", 0.0))
            return
        client = self._clients.get(frame.get("c"))  # type: ignore[arg-type]
        if client is None:
            return
        if "s" in frame:
            client.send(frame["s"])
            left = frame.get("left")
            if isinstance(left, str) and client.rooms.get(left) == handle.index:
                del client.rooms[left]
                self._release(left, client.id)
        elif "ping" in frame:
            self._track(_ping(client.ws))
        elif "close" in frame:
            client.workers.discard(handle.index)
            reason = str(frame.get("reason", ""))[:120].encode()
            self._track(client.ws.close(code=int(frame["close"]), message=reason))

    async def _worker_died(self, handle: WorkerHandle) -> None:
        index = handle.index
        handle.writer.close()
        code = handle.process.poll()
        if code is None:
            handle.process.kill()
        code = await asyncio.to_thread(handle.process.wait)
        self.departed_totals.add(ForwardingTotals(**handle.reading.get("totals", {})))
        rooms = self.placement.worker_lost(index)
        for room in rooms:
            self._track(self.directory.release(room))
        log.warning("worker %d (pid %d) exited with %s; %d room(s) lost, their clients reconnect",
                    index, handle.process.pid, code, len(rooms))
        for client in list(self._clients.values()):
            if index in client.workers:
                client.workers.discard(index)
                client.rooms = {r: w for r, w in client.rooms.items() if w != index}
                self._track(client.ws.close(code=SERVICE_RESTART, message=b"server restarting"))
        self.workers[index] = None
        loop = asyncio.get_running_loop()
        ran = loop.time() - handle.started_at
        delay = RESTART_DELAY_S if ran >= HEALTHY_RUN_S else self._restart_delay[index]
        self._restart_delay[index] = min(delay * 2, RESTART_DELAY_MAX_S)
        await asyncio.sleep(delay)
        if not self._stopping:
            await self._spawn(index)

    async def stop(self) -> None:
        """Close every channel (each worker then closes its rooms and exits); kill what lingers."""
        self._stopping = True
        for handle in self.workers:
            if handle is not None:
                handle.writer.close()
        for handle in self.workers:
            if handle is None:
                continue
            try:
                await asyncio.wait_for(asyncio.to_thread(handle.process.wait), 5.0)
            except asyncio.TimeoutError:
                handle.process.kill()
                await asyncio.to_thread(handle.process.wait)
        for task in list(self._tasks):
            task.cancel()
        await self.directory.stop()
        if self._http is not None:
            await self._http.close()

    def _release(self, room: str, conn: int) -> None:
        if self.placement.release(room, conn):
            self._track(self.directory.release(room))

    # -- clients -----------------------------------------------------------------------------------

    def open(self, ws: web.WebSocketResponse) -> ClientConnection:
        self._next_id += 1
        client = self._clients[self._next_id] = ClientConnection(self._next_id, ws)
        client.writer = asyncio.ensure_future(client.write())
        return client

    async def from_client(self, client: ClientConnection, text: str) -> None:
        """Relay one text frame to the worker of the room it names (placing the room if it is new), or to
        the node that owns the room."""
        room = room_named_in(text)
        if room is not None and room not in client.rooms and room not in client.remote_rooms:
            if not await self._find_owner(client, room, peek_request_id(text)):
                return
        if room is not None and room in client.remote_rooms:
            await client.links[client.remote_rooms[room]].send(text)
            return
        try:
            if room is not None:
                worker = client.rooms.get(room)
                if worker is None:
                    worker = client.rooms[room] = self.placement.place(room, client.id)
            else:  # not a message about a room: any worker answers it with the protocol's error
                worker = next(iter(client.workers), None)
                if worker is None:
                    worker = min((i for i, w in enumerate(self.placement.workers) if w.alive),
                                 key=lambda i: self.placement.workers[i].score)
        except (LookupError, ValueError):
            client.send(json.dumps(error("unavailable", "the server is restarting: try again in a moment",
                                         peek_request_id(text), room)))
            return
        self._to_worker(client, worker, {"c": client.id, "t": text})

    async def _find_owner(self, client: ClientConnection, room: str, request_id: str | int | None = None) -> bool:
        """Ask the directory who owns `room`; for another node, open this client's relay to it. A node that
        cannot be reached is waited on until its heartbeat expires and the room can be taken over."""
        deadline = asyncio.get_running_loop().time() + OWNER_WAIT_S
        while True:
            try:
                owner = await self.directory.owner(room)
            except DirectoryUnavailable as exc:
                log.warning("room directory unavailable: %s", exc)
                break
            if owner.id == self.directory.node.id:
                return True
            if owner.id in client.links or await self._link(client, owner):
                client.remote_rooms[room] = owner.id
                return True
            try:  # a room only placed there (by load) and never reached comes back here
                if await self.directory.take_back(room, owner.id):
                    return True
            except DirectoryUnavailable as exc:
                log.warning("room directory unavailable: %s", exc)
                break
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        client.send(json.dumps(error("unavailable", "the server holding this room cannot be reached: try again in "
                                     "a moment", request_id, room)))
        return False

    async def _link(self, client: ClientConnection, node: Node) -> bool:
        import aiohttp

        if self._http is None:
            self._http = aiohttp.ClientSession()

        async def broken() -> None:  # the other node went away: the client rejoins, and lands anew
            client.links.pop(node.id, None)
            client.remote_rooms = {r: n for r, n in client.remote_rooms.items() if n != node.id}
            await client.ws.close(code=SERVICE_RESTART, message=b"server restarting")

        link = NodeLink(node, client.send, broken)
        try:
            await link.open(self._http)
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.info("node %s (%s) cannot be reached: %s", node.id, node.url, exc)
            return False
        client.links[node.id] = link
        return True

    def binary(self, client: ClientConnection) -> None:
        worker = next(iter(client.workers), None)
        if worker is not None:
            self._to_worker(client, worker, {"c": client.id, "binary": 1})
        else:
            client.send(json.dumps(error("bad_json", "binary frames are not accepted")))

    def heard(self, client: ClientConnection) -> None:
        for worker in client.workers:
            self._to_worker(client, worker, {"c": client.id, "heard": 1})

    def _to_worker(self, client: ClientConnection, index: int, frame: dict[str, Any]) -> None:
        handle = self.workers[index]
        if handle is None:
            return
        client.workers.add(index)
        write_frame(handle.writer, frame)

    async def close(self, client: ClientConnection) -> None:
        """The client's socket has closed: its sessions on the workers end, its placements are released."""
        self._clients.pop(client.id, None)
        for worker in client.workers:
            handle = self.workers[worker]
            if handle is not None:
                write_frame(handle.writer, {"c": client.id, "end": 1})
        for room in client.rooms:
            self._release(room, client.id)
        for link in client.links.values():
            await link.close()
        if client.writer is not None:
            client.writer.cancel()

    # -- what /metrics reads ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, int]:
        keys = ("rooms", "participants", "producers", "consumers")
        return {k: sum(int(h.reading.get(k, 0)) for h in self.workers if h is not None) for k in keys}

    def totals(self) -> ForwardingTotals:
        totals = ForwardingTotals().add(self.departed_totals)
        for handle in self.workers:
            if handle is not None and handle.reading.get("totals"):
                totals.add(ForwardingTotals(**handle.reading["totals"]))
        return totals


async def _ping(ws: web.WebSocketResponse) -> None:
    try:
        await ws.ping()
    except (ConnectionError, RuntimeError):
        pass


def room_named_in(text: str) -> str | None:
    """The `room` a client message names, if it is a valid room name (the worker validates the rest)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    room = message.get("room") if isinstance(message, dict) else None
    return room if isinstance(room, str) and is_room_name(room) else None


async def relay(request: web.Request) -> web.WebSocketResponse:
    """The signaling WebSocket in front mode: every frame goes to the worker that owns its room."""
    from . import keys
    from .routes import HARD_FRAME_LIMIT

    require_allowed_origin(request)
    pool = request.app[keys.WORKERS]
    ws = web.WebSocketResponse(autoping=False, max_msg_size=HARD_FRAME_LIMIT)
    await ws.prepare(request)
    client = pool.open(ws)
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await pool.from_client(client, frame.data)
            elif frame.type == WSMsgType.PING:
                await ws.pong(frame.data)
                pool.heard(client)
            elif frame.type == WSMsgType.PONG:
                pool.heard(client)
            elif frame.type == WSMsgType.BINARY:
                pool.binary(client)
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        await asyncio.shield(pool.close(client))
    return ws
