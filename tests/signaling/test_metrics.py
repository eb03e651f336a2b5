"""`/metrics`: forwarding counters an operator can scrape, monotonic across leaves."""

import asyncio
import gc

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from signaling import keys
from signaling.metrics import is_loopback
from tests.conftest import wait_until
from tests.helpers.media import NumberedVideoTrack, ToneTrack
from tests.helpers.server import token


async def _scrape(server) -> dict[str, float]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
            assert response.status == 200
            text = await response.text()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_forwarded_packets_and_never_run_backwards(sfu_server, clients):
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("metrics", token("metrics", "patient-1"))
    await pub.publish(NumberedVideoTrack(), ToneTrack())
    viewers = []
    for i in range(2):
        c = await clients(sfu_server.ws_url)
        viewers.append(await c.join("metrics", token("metrics", f"doctor-{i}", "doctor")))
    for v in viewers:
        await wait_until(lambda v=v: len(v.tracks) == 2, "tracks at each viewer")
    await asyncio.sleep(1.0)

    first = await _scrape(sfu_server)
    assert first["vaidya_rooms"] == 1 and first["vaidya_participants"] == 3
    assert first["vaidya_producers"] == 2 and first["vaidya_consumers"] == 4
    assert first["vaidya_packets_forwarded_total"] > first["vaidya_packets_received_total"] > 0

    await viewers[0].leave()
    await asyncio.sleep(0.5)
    second = await _scrape(sfu_server)
    assert second["vaidya_consumers"] == 2
    assert second["vaidya_packets_forwarded_total"] > first["vaidya_packets_forwarded_total"]

    await pub.leave()
    await viewers[1].leave()
    await wait_until(lambda: not sfu_server.app[keys.REGISTRY].rooms(), "the room to close")
    third = await _scrape(sfu_server)
    assert third["vaidya_rooms"] == 0
    assert third["vaidya_packets_forwarded_total"] >= second["vaidya_packets_forwarded_total"]
    assert third["vaidya_packets_received_total"] >= second["vaidya_packets_received_total"]


def test_metrics_are_for_loopback_clients_only():
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("192.0.2.7") and not is_loopback(None) and not is_loopback("not-an-ip")


async def test_metrics_count_the_servers_asyncio_tasks_and_gc_objects_as_peers_come_and_go(sfu_server, clients):
    gc.collect()  # earlier tests' garbage, freed by a collection later on, would hide the peers' objects
    idle = await _scrape(sfu_server)
    assert idle["vaidya_asyncio_tasks"] >= 1 and idle["vaidya_gc_objects"] > 10_000
    publisher = await clients(sfu_server.ws_url)
    pub = await publisher.join("tasks", token("tasks", "patient-1"))
    await pub.publish(NumberedVideoTrack(), ToneTrack())
    viewer = await (await clients(sfu_server.ws_url)).join("tasks", token("tasks", "doctor-1", "doctor"))
    await wait_until(lambda: len(viewer.tracks) == 2, "tracks at the viewer")
    busy = await _scrape(sfu_server)
    # Each peer connection runs its ICE, DTLS and RTP tasks on the loop.
    assert busy["vaidya_asyncio_tasks"] >= idle["vaidya_asyncio_tasks"] + 10
    assert busy["vaidya_gc_objects"] > idle["vaidya_gc_objects"]
    await pub.leave()
    await viewer.leave()
    await wait_until(lambda: not sfu_server.app[keys.REGISTRY].rooms(), "the room to close")
    await asyncio.sleep(0.5)
    after = await _scrape(sfu_server)
    # The clients share this test's loop (their signaling stays open): the server process's own return
    # to its idle count is checked across processes by tests/bench/test_soak.py.
    assert after["vaidya_asyncio_tasks"] <= busy["vaidya_asyncio_tasks"] - 10
