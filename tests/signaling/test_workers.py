"""`vaidya serve --workers N`: rooms live in worker processes behind the front (docs/scale.md).

Real processes: the server runs as `vaidya serve --workers 2`, the clients are real aiortc peers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import urllib.request
from collections.abc import AsyncIterator

import pytest

from signaling.client import RoomPeer, SignalingClient
from signaling.placement import PACKETS_PER_CORE, RoomPlacement, WorkerLoad
from tests.conftest import wait_until
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import ServerProcess, token

pytestmark = pytest.mark.timeout(120)


# -- placement (pure) --------------------------------------------------------------------------------


def test_a_room_goes_to_the_worker_with_the_least_measured_load_not_the_fewest_rooms() -> None:
    placement = RoomPlacement([WorkerLoad(), WorkerLoad()])
    placement.report(0, cpu=0.05, packets_per_s=100)  # many quiet waiting rooms
    placement.report(1, cpu=0.60, packets_per_s=0.5 * PACKETS_PER_CORE)  # one busy consultation
    for name in ("w1", "w2", "w3"):
        placement.place(name, conn=1)
    placement.report(0, cpu=0.05, packets_per_s=100)
    placement.report(1, cpu=0.10, packets_per_s=0.9 * PACKETS_PER_CORE)  # a packet-heavy, CPU-light worker
    assert placement.place("busy", conn=2) == 0
    assert placement.rooms_on(0) == 4 and placement.rooms_on(1) == 0


def test_a_burst_of_new_rooms_spreads_before_the_next_load_report() -> None:
    placement = RoomPlacement([WorkerLoad(), WorkerLoad()])
    workers = [placement.place(f"r{i}", conn=i) for i in range(6)]
    assert workers.count(0) == 3 and workers.count(1) == 3


def test_a_room_stays_on_its_worker_while_any_member_holds_it_then_is_forgotten() -> None:
    placement = RoomPlacement([WorkerLoad(), WorkerLoad()])
    first = placement.place("opd", conn=1)
    placement.report(first, cpu=0.9, packets_per_s=0)  # its worker gets busy: the room does not move
    assert placement.place("opd", conn=2) == first
    placement.release("opd", conn=1)
    assert placement.worker_of("opd") == first
    placement.release("opd", conn=2)
    assert placement.worker_of("opd") is None
    assert placement.place("opd", conn=3) != first  # placed afresh, on the idle worker


def test_a_dead_workers_rooms_are_forgotten_and_no_room_is_placed_on_it() -> None:
    placement = RoomPlacement([WorkerLoad(), WorkerLoad()])
    placement.report(1, cpu=0.5, packets_per_s=0)
    assert placement.place("a", conn=1) == 0
    assert placement.worker_lost(0) == ["a"]
    assert placement.worker_of("a") is None
    assert placement.place("a", conn=2) == 1  # the only live worker, however busy
    placement.worker_lost(1)
    with pytest.raises(LookupError):
        placement.place("b", conn=3)


# -- a real server with two workers -------------------------------------------------------------------


@pytest.fixture
def two_workers(tmp_path) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", extra_args=("--workers", "2"))
    yield server
    server.stop()


def worker_gauges(server: ServerProcess, name: str) -> dict[int, float]:
    """One `vaidya_worker_<name>` gauge per worker, from the front's /metrics."""
    text = urllib.request.urlopen(f"{server.url}/metrics", timeout=5).read().decode()
    return {int(w): float(v) for w, v in re.findall(rf'^vaidya_worker_{name}\{{worker="(\d+)"\}} (\S+)$', text, re.M)}


async def consultation(server: ServerProcess, room: str) -> tuple[list[SignalingClient], FrameCollector]:
    """A patient publishing video and a doctor receiving it, in `room`."""
    patient = await SignalingClient(server.ws_url).connect()
    doctor = await SignalingClient(server.ws_url).connect()
    sent = await patient.join(room, token(room, f"pt-{room}"))
    await sent.publish(NumberedVideoTrack(), ToneTrack())
    seen: RoomPeer = await doctor.join(room, token(room, f"dr-{room}", "doctor"))
    await wait_until(lambda: seen.track("video") is not None, f"the doctor's video track in {room}", timeout=20)
    frames = FrameCollector(seen.track("video"))
    await wait_until(lambda: len(frames.readable()) > 10, f"video through the server in {room}", timeout=20)
    return [patient, doctor], frames


async def test_rooms_are_spread_over_the_workers_and_each_rooms_members_meet_on_one(two_workers) -> None:
    server = two_workers
    clients: list[SignalingClient] = []
    try:
        for room in ("opd-a", "opd-b"):
            members, frames = await consultation(server, room)
            clients += members
            await frames.stop()
        # media flowed between the members of each room, so each room's two members share a worker
        rooms = await wait_until(lambda: (r := worker_gauges(server, "rooms")) and sum(r.values()) == 2 and r,
                                 "both workers' load reports", timeout=5)
        assert rooms == {0: 1.0, 1: 1.0}
        # a malformed message is answered by the protocol's own error, and the room carries on
        await clients[0].send_raw("{not json")
        await wait_until(lambda: any(e.get("code") == "bad_json" for e in clients[0].errors), "the bad_json error")
        assert not clients[0].closed
    finally:
        for client in clients:
            await client.close()


async def test_a_killed_worker_is_restarted_its_clients_are_told_and_other_rooms_never_notice(two_workers) -> None:
    server = two_workers
    doomed, doomed_frames = await consultation(server, "opd-doomed")
    rooms = await wait_until(lambda: (r := worker_gauges(server, "rooms")) and sum(r.values()) == 1 and r,
                             "the first room in a load report", timeout=5)
    victim = next(worker for worker, count in rooms.items() if count == 1)
    kept, kept_frames = await consultation(server, "opd-kept")
    try:
        pids = await wait_until(lambda: (p := worker_gauges(server, "pid")) and len(p) == 2 and p, "worker pids")
        rooms = await wait_until(lambda: (r := worker_gauges(server, "rooms")) and sum(r.values()) == 2 and r,
                                 "rooms per worker", timeout=5)
        assert rooms == {0: 1.0, 1: 1.0}
        os.kill(int(pids[victim]), signal.SIGKILL)

        await wait_until(lambda: all(c.closed for c in doomed), "the dead worker's clients to be disconnected")
        assert all(c._ws is not None and c._ws.close_code == 1012 for c in doomed)
        restarted = await wait_until(
            lambda: (p := worker_gauges(server, "pid")).get(victim) not in (None, pids[victim]) and p,
            "the worker to be restarted", timeout=10)
        assert restarted[1 - victim] == pids[1 - victim]

        # the other room never noticed: same sockets, video still arriving
        before = len(kept_frames.readable())
        await asyncio.sleep(1.0)
        assert not any(c.closed for c in kept) and len(kept_frames.readable()) > before + 5

        # the dead room's people rejoin (as the browser client does by itself) and see each other again
        again, again_frames = await consultation(server, "opd-doomed")
        doomed += again
        await again_frames.stop()
    finally:
        await doomed_frames.stop()
        await kept_frames.stop()
        for client in doomed + kept:
            await client.close()


async def test_browsers_in_a_room_on_a_killed_worker_rejoin_by_themselves_and_see_each_other(tmp_path) -> None:
    """The room page's own reconnect carries a consultation over a worker's death (Chromium, fake camera)."""
    from tests.helpers.browser import HAVE_CHROMIUM, NO_CHROMIUM, assert_decodes_growing_video, chromium, open_page
    from tests.helpers.browser import token_link
    from tests.helpers.server import SECRET

    if not HAVE_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    server = ServerProcess(tmp_path / "data", extra_args=("--workers", "2"))
    errors: list[str] = []
    try:
        async with chromium() as browser:
            doctor = await open_page(browser, errors, "doctor", token_link(server.url, SECRET, "opd-w", "dr-w", "doctor"))
            patient = await open_page(browser, errors, "patient", token_link(server.url, SECRET, "opd-w", "pt-w", "patient"))
            await asyncio.gather(assert_decodes_growing_video(doctor, "the doctor"),
                                 assert_decodes_growing_video(patient, "the patient"))
            rooms = await wait_until(lambda: (r := worker_gauges(server, "rooms")) and sum(r.values()) == 1 and r,
                                     "the room in a load report", timeout=5)
            victim = next(worker for worker, count in rooms.items() if count == 1)
            old_pc = await doctor.evaluate_handle("window.vaidya.session.subscribePc")
            os.kill(int(worker_gauges(server, "pid")[victim]), signal.SIGKILL)
            # each page notices the closed socket, reconnects, rejoins, publishes and subscribes afresh
            for page in (doctor, patient):
                await wait_until(lambda page=page: page.evaluate(
                    "(old) => !!window.vaidya.session && window.vaidya.session.subscribePc !== old "
                    "&& window.vaidya.session.state === 'joined'", old_pc if page is doctor else None),
                    "the page to rejoin", timeout=20)
            await asyncio.gather(assert_decodes_growing_video(doctor, "the doctor after the restart"),
                                 assert_decodes_growing_video(patient, "the patient after the restart"))
    finally:
        server.stop()
    assert [e for e in errors if "connection to the server was lost" not in e] == []
