"""Which node owns which room, across machines: the room directory (docs/scale.md, "Nodes").

One node: `LocalDirectory`, every room is ours. With `--redis URL` (one server, or a primary under Redis
Sentinel: `redis_connection.py`): `RedisDirectory`. Each node keeps a heartbeat key (`vaidya:node:<id>`:
its relay URL and load, expiring after `NODE_TTL_S`) and its load in `vaidya:loads`, and a room belongs to
the node named by `vaidya:room:<name>`. Claiming a room is one Lua script, so two nodes can never both own
it: the first claim wins and puts a new room on the least loaded live node; a claim on a room whose
owner's heartbeat has expired places it afresh. Each heartbeat that finds its own key gone (Redis
restarted empty, or this node stalled past its expiry), and the first one after an outage or a Sentinel
failover (the promoted replica may lack the last claims), writes back the rooms the node holds, so the map
is rebuilt within a second. Chosen in one place (`directory_for`), as LiveKit wraps its local router in its
Redis router.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .placement import PLACED_ROOM_LOAD
from .redis_connection import close, close_blocking, connect, connect_blocking, primary_address

log = logging.getLogger(__name__)

#: A node whose heartbeat is older than this is dead: its rooms go to whoever claims them next.
NODE_TTL_S = 3.0
HEARTBEAT_S = 1.0
_NODE = "vaidya:node:"
_ROOM = "vaidya:room:"
#: The one node that keeps the portal's and Rx's records (its SQLite file): never two at once.
RECORDS_KEY = "vaidya:records"

#: Where the nodes' last load reports are (a sorted set: node id → load), so a claim finds the least
#: loaded node in one step.
LOADS_KEY = "vaidya:loads"
#: A new room stays on the node its first client reached unless another live node is this much less
#: loaded (a share of one core): a relayed client costs a signaling hop, not worth it for a near tie.
NODE_LOAD_MARGIN = 0.05
#: What a node with no running worker reports: it gets new rooms only when every node is in that state.
NO_WORKER_LOAD = 1000.0

#: A room placed on another node expires unless that node confirms it (its own claim, when the relayed
#: client's first message reaches it) within this: a node that beats but cannot be reached (a wrong
#: node_url) never strands a room, and a claim whose client vanished leaves nothing behind.
PENDING_MS = 10_000
#: A node this one failed to reach gets none of its new rooms for this long.
UNREACHABLE_S = 30.0

# KEYS[1] room key, KEYS[2] the loads; ARGV[1] this node, ARGV[2] the node key prefix, ARGV[3] this node's
# load now, ARGV[4] the margin, ARGV[5] the load a placed room adds, ARGV[6] the pending expiry in ms,
# ARGV[7…] nodes this one cannot reach. An owned room (by a live node) keeps its owner; this node's own
# claim confirms a room placed on it. A new room (or a dead owner's) goes to the least loaded live node:
# this one unless another is more than the margin below it (pending until that node confirms); nodes
# found dead are dropped from the loads. Returns the owner.
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PERSIST', KEYS[1])
  return owner
end
if owner and redis.call('EXISTS', ARGV[2] .. owner) == 1 then
  return owner
end
local skip = {[ARGV[1]] = true}
for i = 7, #ARGV do skip[ARGV[i]] = true end
local chosen = ARGV[1]
local below = tonumber(ARGV[3]) - tonumber(ARGV[4])
local lighter = redis.call('ZRANGE', KEYS[2], '-inf', '(' .. below, 'BYSCORE')
for _, node in ipairs(lighter) do
  if not skip[node] then
    if redis.call('EXISTS', ARGV[2] .. node) == 1 then
      chosen = node
      break
    end
    redis.call('ZREM', KEYS[2], node)
  end
end
if chosen == ARGV[1] then
  redis.call('SET', KEYS[1], chosen)
else
  redis.call('SET', KEYS[1], chosen, 'PX', ARGV[6])
end
redis.call('ZINCRBY', KEYS[2], ARGV[5], chosen)
return chosen
"""
# KEYS[1] room key; ARGV[1] this node; ARGV[2] the node it could not reach. Takes the room back while that
# node has not confirmed it (no member can be there yet); returns the owner.
_TAKE_BACK = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[2] and redis.call('PTTL', KEYS[1]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return owner
"""
# KEYS[1] the records key; ARGV[1] this node; ARGV[2] expiry in ms. Takes or renews the records role
# unless another node holds it; returns the holder.
_RECORDS = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""
# Frees the room only if this node still owns it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class DirectoryUnavailable(Exception):
    """The directory cannot be reached: no new room can be placed until it can."""


@dataclass(frozen=True)
class Node:
    id: str
    #: where another node's front relays a client's signaling for a room this node owns
    url: str


class RoomDirectory(Protocol):
    node: Node

    async def start(self, held_rooms: Callable[[], Iterable[str]], load: Callable[[], float | None]) -> None: ...

    async def owner(self, room: str) -> Node: ...

    async def take_back(self, room: str, unreachable: str) -> bool: ...

    async def release(self, room: str) -> None: ...

    async def records_node(self) -> Node | None: ...

    async def stop(self) -> None: ...


class LocalDirectory:
    """A single node: every room is ours."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def start(self, held_rooms: Callable[[], Iterable[str]], load: Callable[[], float | None]) -> None:
        pass

    async def owner(self, room: str) -> Node:
        return self.node

    async def take_back(self, room: str, unreachable: str) -> bool:
        return False

    async def release(self, room: str) -> None:
        pass

    async def records_node(self) -> Node | None:
        return None

    async def stop(self) -> None:
        pass


class RedisDirectory:
    """Rooms and nodes in Redis: atomic claims, heartbeats, takeover of a dead node's rooms."""

    def __init__(self, url: str, node: Node, keeps_records: bool = False) -> None:
        self.node = node
        self.keeps_records = keeps_records
        self._redis = connect(url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._records = self._redis.register_script(_RECORDS)
        self._take_back = self._redis.register_script(_TAKE_BACK)
        self._unreachable: dict[str, float] = {}  # node id -> until (monotonic)
        self._heartbeat: asyncio.Task[None] | None = None
        self._load: Callable[[], float | None] = lambda: 0.0

    async def start(self, held_rooms: Callable[[], Iterable[str]], load: Callable[[], float | None]) -> None:
        """Beat every second; `load` is the node's load figure (its least loaded live worker's, as
        `placement.py` measures it; None when no worker runs)."""
        self._load = load
        self._heartbeat = asyncio.ensure_future(self._beat(held_rooms))

    def _current_load(self) -> float:
        load = self._load()
        return NO_WORKER_LOAD if load is None else round(load, 3)

    async def _beat(self, held_rooms: Callable[[], Iterable[str]]) -> None:
        import redis

        failed = False
        primary = None
        while True:
            try:
                load = self._current_load()
                info = json.dumps({"url": self.node.url, "load": load})
                # SET … GET answers the key's previous value: none means Redis lost it (a restart, or this
                # node stalled past its expiry), and then the rooms this node holds are written back. So
                # they are after an outage or a Sentinel failover: the promoted replica may hold this
                # node's key yet lack its last claims (replication is asynchronous).
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(_NODE + self.node.id, info, px=int(NODE_TTL_S * 1000), get=True)
                    pipe.zadd(LOADS_KEY, {self.node.id: load})
                    previous, _ = await pipe.execute()
                current = primary_address(self._redis)
                moved = primary is not None and current is not None and current != primary
                primary = current or primary
                if moved:
                    log.warning("room directory: the primary is now %s (a Sentinel failover)", current)
                if previous is None or failed or moved:
                    await self._reassert(list(held_rooms()))
                if failed:
                    log.warning("room directory reachable again")
                    failed = False
                if self.keeps_records:
                    holder = await self._records(keys=[RECORDS_KEY], args=[self.node.id, int(NODE_TTL_S * 1000)])
                    if holder != self.node.id:
                        log.error("node %s now keeps the records too: two record stores exist", holder)
            except (redis.RedisError, OSError) as exc:
                failed = True
                log.warning("room directory heartbeat failed: %s", exc)
            await asyncio.sleep(HEARTBEAT_S)

    async def _reassert(self, rooms: list[str]) -> None:
        """Write back the rooms this node holds; a room another node took meanwhile stays theirs."""
        if not rooms:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.set(_ROOM + room, self.node.id, nx=True)
            written = await pipe.execute()
        taken = [room for room, ok in zip(rooms, written) if not ok]
        if taken:
            log.error("rooms this node holds are owned by other nodes in the directory: %s", ", ".join(taken[:10]))

    async def owner(self, room: str) -> Node:
        import redis

        try:
            now = time.monotonic()
            self._unreachable = {node: until for node, until in self._unreachable.items() if until > now}
            owner = await self._claim(keys=[_ROOM + room, LOADS_KEY],
                                      args=[self.node.id, _NODE, self._current_load(), NODE_LOAD_MARGIN,
                                            PLACED_ROOM_LOAD, PENDING_MS, *self._unreachable])
            if owner == self.node.id:
                return self.node
            info = await self._redis.get(_NODE + owner)
        except (redis.RedisError, OSError) as exc:
            raise DirectoryUnavailable(str(exc)) from None
        if info is None:  # its heartbeat expired between the two calls: claim again
            return await self.owner(room)
        return Node(owner, json.loads(info)["url"])

    async def take_back(self, room: str, unreachable: str) -> bool:
        """This node could not reach `unreachable`, the room's owner: take the room if it was only placed
        there, not yet confirmed (True: it is ours now), and send no new rooms there for a while."""
        import redis

        self._unreachable[unreachable] = time.monotonic() + UNREACHABLE_S
        try:
            return await self._take_back(keys=[_ROOM + room], args=[self.node.id, unreachable]) == self.node.id
        except (redis.RedisError, OSError) as exc:
            raise DirectoryUnavailable(str(exc)) from None

    async def release(self, room: str) -> None:
        import redis

        try:
            await self._release(keys=[_ROOM + room], args=[self.node.id])
        except (redis.RedisError, OSError) as exc:
            log.warning("could not release room %s in the directory: %s", room, exc)

    async def records_node(self) -> Node | None:
        """The live node that keeps the records (None: no live node holds the role)."""
        return await _records_node(self._redis)

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        try:
            await self._redis.delete(_NODE + self.node.id)
            await self._redis.zrem(LOADS_KEY, self.node.id)
        except Exception:  # shutting down: the heartbeat expires by itself
            pass
        await close(self._redis)


async def _records_node(client: Any) -> Node | None:
    import redis

    try:
        holder = await client.get(RECORDS_KEY)
        info = None if holder is None else await client.get(_NODE + holder)
    except (redis.RedisError, OSError) as exc:
        raise DirectoryUnavailable(str(exc)) from None
    return None if info is None else Node(holder, json.loads(info)["url"])


class RedisRecordsFinder:
    """Finds the records node and nothing else: what a worker process needs of the directory (it holds no
    rooms in it and writes no heartbeat)."""

    def __init__(self, url: str) -> None:
        self._redis = connect(url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0)

    async def records_node(self) -> Node | None:
        """The live node that keeps the records (None: no live node holds the role)."""
        return await _records_node(self._redis)

    async def close(self) -> None:
        await close(self._redis)


def directory_for(redis_url: str, node_id: str, node_url: str, keeps_records: bool = False) -> RoomDirectory:
    """The one place that chooses: Redis when configured, else this node alone."""
    node = Node(node_id or socket.gethostname(), node_url)
    return RedisDirectory(redis_url, node, keeps_records) if redis_url else LocalDirectory(node)


def claim_records(redis_url: str, node_id: str) -> str:
    """Take the records role for this node before it serves (blocking, at start-up); returns the node that
    holds it — this one, or another live one, in which case this node must not open a record store."""
    client = connect_blocking(redis_url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=5.0)
    try:
        return str(client.register_script(_RECORDS)(keys=[RECORDS_KEY], args=[node_id, int(NODE_TTL_S * 1000)]))
    finally:
        close_blocking(client)
