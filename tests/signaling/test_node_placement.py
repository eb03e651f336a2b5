"""A new room goes to the least loaded live node (docs/scale.md, "Nodes"): two and three room directories
(`RedisDirectory`, as each `vaidya serve --redis` node runs it) on one real redis-server, each reporting
the load its workers measured (here: given)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from bench.redis_server import REDIS_SERVER, RedisServer
from signaling.directory import RedisDirectory, Node
from tests.conftest import wait_until

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")]


class Loaded:
    """A node's load figure as its workers would report it (the larger of CPU share and packet rate ÷ 40,000)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


@pytest.fixture
async def nodes(tmp_path):
    store = RedisServer(tmp_path / "redis")
    directories: list[RedisDirectory] = []

    async def start(**loads: float) -> list[tuple[RedisDirectory, Loaded]]:
        """One node per keyword (its id, with - for _) at that load, once every one has beaten."""
        started = []
        for name, load in loads.items():
            node_id = name.replace("_", "-")
            directory = RedisDirectory(store.url, Node(node_id, f"ws://{node_id}/ws"))
            loaded = Loaded(load)
            await directory.start(lambda: [], loaded)
            directories.append(directory)
            started.append((directory, loaded))
        client = redis.Redis.from_url(store.url)
        keys = [f"vaidya:node:{d.node.id}" for d, _ in started]
        await wait_until(lambda: client.exists(*keys) == len(keys), "heartbeats")
        client.close()
        return started

    yield store, start
    for directory in directories:
        await directory.stop()
    store.close()


async def test_a_new_room_lands_on_the_less_loaded_node(nodes) -> None:
    store, start = nodes
    (busy, _), (idle, _) = await start(node_busy=0.60, node_idle=0.10)
    # the first client reached the busy node, yet the room goes to the idle one, and both agree
    assert (await busy.owner("opd-1")).id == "node-idle"
    assert (await idle.owner("opd-1")).id == "node-idle"
    assert (await busy.owner("opd-1")).url == "ws://node-idle/ws"
    # the heartbeat carries the figure (for operators and other readers)
    info = redis.Redis.from_url(store.url, decode_responses=True).get("vaidya:node:node-busy")
    assert '"load": 0.6' in info


async def test_an_existing_room_keeps_its_owner_when_loads_change(nodes) -> None:
    store, start = nodes
    (first, first_load), (second, _) = await start(node_a=0.10, node_b=0.30)
    assert (await second.owner("opd-2")).id == "node-a"
    first_load.value = 0.90  # node-a gets busy; its next heartbeat says so
    await asyncio.sleep(1.5)
    assert (await second.owner("opd-2")).id == "node-a"  # its members must still meet there
    assert (await first.owner("opd-3")).id == "node-b"  # new rooms go elsewhere


async def test_close_loads_keep_the_room_on_the_node_its_client_reached(nodes) -> None:
    """Within the margin a relay hop is not worth it."""
    store, start = nodes
    (first, _), _ = await start(node_a=0.12, node_b=0.10)
    assert (await first.owner("opd-4")).id == "node-a"


async def test_a_dead_node_gets_no_new_rooms_however_idle_it_was(nodes) -> None:
    store, start = nodes
    (alive, _), (dead, _) = await start(node_a=0.50, node_d=0.00)
    dead._heartbeat.cancel()  # stops beating, as a killed node does; its key expires in 3 s
    client = redis.Redis.from_url(store.url)
    await wait_until(lambda: not client.exists("vaidya:node:node-d"), "the dead node's key to expire", timeout=5)
    assert (await alive.owner("opd-5")).id == "node-a"


async def test_concurrent_claims_from_several_nodes_agree_on_one_owner_per_room(nodes) -> None:
    store, start = nodes
    directories = [d for d, _ in await start(node_0=0.5, node_1=0.2, node_2=0.35)]
    rooms = [f"opd-c{i}" for i in range(40)]
    # every node claims every room at once
    answers = await asyncio.gather(*(d.owner(room) for room in rooms for d in directories))
    by_room: dict[str, set[str]] = {}
    for index, owner in enumerate(answers):
        by_room.setdefault(rooms[index // len(directories)], set()).add(owner.id)
    assert all(len(owners) == 1 for owners in by_room.values()), by_room
    stored = redis.Redis.from_url(store.url, decode_responses=True).mget([f"vaidya:room:{r}" for r in rooms])
    assert stored == [next(iter(by_room[r])) for r in rooms]
    # a burst spreads: each room placed counts as load until the node's next report
    assert {owner for owners in by_room.values() for owner in owners} >= {"node-1", "node-2"}


async def test_a_room_placed_on_another_node_is_pending_until_that_node_claims_it(nodes) -> None:
    """The placed-on node confirms the room when the relayed client's first message reaches it; until
    then the key expires by itself (a client that vanished leaves nothing behind)."""
    store, start = nodes
    (busy, _), (idle, _) = await start(node_busy=0.60, node_idle=0.10)
    keys = redis.Redis.from_url(store.url, decode_responses=True)
    assert (await busy.owner("opd-p")).id == "node-idle"
    assert 0 < keys.pttl("vaidya:room:opd-p") <= 10_000
    assert (await idle.owner("opd-p")).id == "node-idle"
    assert keys.pttl("vaidya:room:opd-p") == -1  # confirmed: no expiry
    assert not await busy.take_back("opd-p", "node-idle")  # a member may be there now: it stays
    assert keys.get("vaidya:room:opd-p") == "node-idle"


async def test_a_room_placed_on_a_node_that_cannot_be_reached_comes_back(nodes) -> None:
    """A node that beats but cannot be reached (say a wrong node_url) must not strand new rooms."""
    store, start = nodes
    (busy, _), (idle, _) = await start(node_busy=0.60, node_idle=0.10)
    keys = redis.Redis.from_url(store.url, decode_responses=True)
    assert (await busy.owner("opd-u")).id == "node-idle"
    assert await busy.take_back("opd-u", "node-idle")  # the relay to node-idle failed
    assert keys.get("vaidya:room:opd-u") == "node-busy" and keys.pttl("vaidya:room:opd-u") == -1
    assert (await idle.owner("opd-u")).id == "node-busy"  # every node agrees
    # and this node sends no new room there for a while, however idle it looks
    assert (await busy.owner("opd-u2")).id == "node-busy"
