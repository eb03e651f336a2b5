"""`vaidya serve --redis URL`: several nodes share one room directory in a real redis-server
(docs/scale.md, "Nodes"). Every node is a real `vaidya serve` process; the clients are real aiortc peers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.request

import pytest
import redis

from bench.redis_server import REDIS_SERVER, RedisServer
from signaling.client import SignalingClient
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import ServerProcess, free_port, token

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")]


@pytest.fixture
def cluster(tmp_path):
    """A redis-server and two nodes (one worker each) that use it."""
    store = RedisServer(tmp_path / "redis")
    # node-0 keeps the records (portal, Rx); node-1 serves rooms only
    nodes = [ServerProcess(tmp_path / f"node{i}", extra_args=("--workers", "1", "--redis", store.url),
                           extra_env={"VAIDYA_NODE_ID": f"node-{i}", "VAIDYA_RECORDS": "1" if i == 0 else "0"})
             for i in range(2)]
    yield store, nodes
    for node in nodes:
        if node.proc.poll() is None:
            node.stop()
    store.close()


async def _consult(patient_node: ServerProcess, doctor_node: ServerProcess, room: str):
    patient = await SignalingClient(patient_node.ws_url).connect()
    doctor = await SignalingClient(doctor_node.ws_url).connect()
    sent = await patient.join(room, token(room, "pt-1"))
    await sent.publish(NumberedVideoTrack(), ToneTrack())
    seen = await doctor.join(room, token(room, "dr-1", "doctor"))
    await wait_until(lambda: seen.track("video") is not None, "the doctor's video track", timeout=20)
    frames = FrameCollector(seen.track("video"))
    await wait_until(lambda: len(frames.readable()) > 10, "video from the patient at the doctor", timeout=20)
    return [patient, doctor], frames


async def test_a_join_on_the_wrong_node_reaches_the_room_on_the_node_that_owns_it(cluster) -> None:
    store, (first, second) = cluster
    await asyncio.sleep(1.5)  # both nodes' workers up and heartbeats written
    clients, frames = await _consult(first, second, "opd-x")  # the doctor's join arrives at the other node
    try:
        owners = redis.Redis.from_url(store.url, decode_responses=True)
        assert owners.get("vaidya:room:opd-x") == "node-0"
        assert {k for k in owners.scan_iter("vaidya:node:*")} == {"vaidya:node:node-0", "vaidya:node:node-1"}
        # each heartbeat carries the node's load as its workers measured it (new rooms go to the least loaded)
        for node in ("node-0", "node-1"):
            load = json.loads(owners.get(f"vaidya:node:{node}"))["load"]
            assert 0.0 <= load < 1.5 and owners.zscore("vaidya:loads", node) is not None
        # the same participants are one room: the doctor sees the patient as a member
        assert [p["identity"] for p in clients[1].rooms["opd-x"].joined["participants"]] == ["pt-1"]
    finally:
        await frames.stop()
        for client in clients:
            await client.close()


async def test_a_killed_node_s_room_is_taken_over_and_media_resumes_within_seconds(cluster) -> None:
    store, (first, second) = cluster
    await asyncio.sleep(1.5)
    clients, frames = await _consult(first, second, "opd-k")
    await frames.stop()
    owners = redis.Redis.from_url(store.url, decode_responses=True)
    assert owners.get("vaidya:room:opd-k") == "node-0"

    killed_at = time.monotonic()
    for pid in [first.proc.pid]:  # the node's front; its workers exit when their channel closes
        os.kill(pid, signal.SIGKILL)
    # the doctor's relay through node-1 breaks: node-1 tells the client to reconnect (1012)
    await wait_until(lambda: clients[1].closed, "the doctor's socket to close")
    assert clients[1]._ws is not None and clients[1]._ws.close_code == 1012
    for client in clients:
        await client.close()
    # both rejoin on the surviving node (a load balancer would send the patient there too)
    again, frames = await _consult(second, second, "opd-k")
    resumed = time.monotonic() - killed_at
    try:
        assert owners.get("vaidya:room:opd-k") == "node-1"
        assert resumed <= 8.0, f"media resumed {resumed:.1f} s after the kill"
        print(f"media resumed {resumed:.2f} s after kill -9 of the owning node")
    finally:
        await frames.stop()
        for client in again:
            await client.close()


async def test_a_redis_restart_loses_no_placement(cluster) -> None:
    store, (first, second) = cluster
    await asyncio.sleep(1.5)
    clients, frames = await _consult(first, first, "opd-r")
    try:
        store.stop()
        store.start()  # empty: nothing was saved
        owners = redis.Redis.from_url(store.url, decode_responses=True)
        await wait_until(lambda: owners.get("vaidya:room:opd-r") == "node-0", "the nodes to rebuild the map", timeout=5)
        await wait_until(lambda: owners.exists("vaidya:node:node-0", "vaidya:node:node-1") == 2, "both nodes registered")
        # a join through the other node still finds the room where it is
        late = await SignalingClient(second.ws_url).connect()
        clients.append(late)
        seen = await late.join("opd-r", token("opd-r", "hw-1", "health_worker"))
        assert {p["identity"] for p in seen.joined["participants"]} == {"pt-1", "dr-1"}
    finally:
        await frames.stop()
        for client in clients:
            await client.close()


async def test_only_one_node_keeps_the_records(cluster, tmp_path) -> None:
    """Two nodes must never each write a SQLite file that believes it is the record."""
    store, (first, second) = cluster
    owners = redis.Redis.from_url(store.url, decode_responses=True)
    assert owners.get("vaidya:records") == "node-0"
    with pytest.raises(RuntimeError, match="node node-0 already keeps the records"):
        ServerProcess(tmp_path / "node2", extra_args=("--workers", "1", "--redis", store.url),
                      extra_env={"VAIDYA_NODE_ID": "node-2"})
    assert urllib.request.urlopen(f"{first.url}/portal/", timeout=5).status == 200
    # the rooms-only node opens no database: it relays the portal to node-0 (test_records_relay.py)
    assert urllib.request.urlopen(f"{second.url}/portal/", timeout=5).status == 200
    assert (first.data_dir / "vaidya.db").exists() and not (second.data_dir / "vaidya.db").exists()


class LighterNode:
    """Makes `node` look the least loaded to every claim: its entry in `vaidya:loads` is rewritten every
    millisecond from a thread of its own (the node's heartbeat rewrites it each second with what its
    workers measure, and the test's event loop may be busy)."""

    def __init__(self, url: str, node: str) -> None:
        self._loads = redis.Redis.from_url(url)
        self._node = node
        self._loads.zadd("vaidya:loads", {node: -1.0})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        while not self._stop.wait(0.001):
            self._loads.zadd("vaidya:loads", {self._node: -1.0})

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join)
        self._loads.close()


async def test_a_new_room_reached_through_one_node_is_placed_on_the_lighter_one(cluster) -> None:
    store, (first, second) = cluster
    owners = redis.Redis.from_url(store.url, decode_responses=True)
    await wait_until(lambda: owners.exists("vaidya:node:node-0", "vaidya:node:node-1") == 2, "both nodes beating")
    lighter = LighterNode(store.url, "node-1")
    client = await SignalingClient(first.ws_url).connect()
    try:
        seen = await client.join("opd-l", token("opd-l", "pt-l"))  # relayed to node-1, which confirms it
        assert seen.joined["type"] == "joined"
        assert owners.get("vaidya:room:opd-l") == "node-1", first.stop()[-2000:]
        assert owners.pttl("vaidya:room:opd-l") == -1
    finally:
        await lighter.close()
        await client.close()


async def test_a_room_placed_on_a_node_that_cannot_be_reached_is_served_where_its_client_arrived(cluster, tmp_path) -> None:
    """A node that beats but whose node_url nobody can reach must not strand new rooms."""
    store, (first, _) = cluster
    astray = ServerProcess(tmp_path / "node2", extra_args=("--workers", "1", "--redis", store.url),
                           extra_env={"VAIDYA_NODE_ID": "node-2", "VAIDYA_RECORDS": "0",
                                      "VAIDYA_NODE_URL": f"ws://127.0.0.1:{free_port()}/ws"})
    owners = redis.Redis.from_url(store.url, decode_responses=True)
    lighter = LighterNode(store.url, "node-2")
    client = await SignalingClient(first.ws_url).connect()
    try:
        await wait_until(lambda: owners.exists("vaidya:node:node-0", "vaidya:node:node-2") == 2, "both nodes beating")
        started = time.monotonic()
        await client.join("opd-u", token("opd-u", "pt-u"))
        assert time.monotonic() - started < 2.0  # no wait for the unreachable node
        assert owners.get("vaidya:room:opd-u") == "node-0" and owners.pttl("vaidya:room:opd-u") == -1
        await client.join("opd-u2", token("opd-u2", "pt-u"))  # node-2 gets no new rooms from node-0 now
        assert owners.get("vaidya:room:opd-u2") == "node-0"
    finally:
        await lighter.close()
        await client.close()
        astray.stop()
