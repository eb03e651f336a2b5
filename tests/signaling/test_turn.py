"""TURN for networks that block UDP: credentials a real coturn accepts (and refuses once expired), handed
out in the join reply, and real Chromium pages in a network namespace with no UDP path reaching the SFU
through the relay."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aioice.stun
import aioice.turn
import pytest

from signaling.config import ConfigError, load_config
from tests.conftest import wait_until
from signaling.turn import turn_credential
from tests.helpers import isolated_network
from tests.helpers.browser import (
    CHROMIUM,
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    assert_decodes_growing_video,
    chromium,
    inbound_video,
    open_page,
    running_app,
    token_link,
)
from tests.helpers.isolated_network import IsolatedNetwork
from tests.helpers.turn_server import HAVE_TURNSERVER, NO_TURNSERVER, TurnServer

TURN_SECRET = "turn-secret-for-tests-" + "y" * 20

pytestmark = [pytest.mark.timeout(90), pytest.mark.skipif(not HAVE_TURNSERVER, reason=NO_TURNSERVER)]


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    server = TurnServer(TURN_SECRET, tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def _allocate(server: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation over TCP with these credentials; returns the relayed address coturn gave."""
    transport, _ = await aioice.turn.create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", server.port), username, password, transport="tcp"
    )
    try:
        return transport.get_extra_info("sockname")
    finally:
        transport.close()


async def test_coturn_accepts_the_credential_a_join_would_get_and_refuses_it_expired(turn_server: TurnServer) -> None:
    config = load_config(overrides={"turn_urls": turn_server.urls, "turn_secret": TURN_SECRET, "data_dir": "unused"})
    [server] = config.ice_servers("pt-gita")
    assert server["urls"] == [turn_server.urls]
    expiry, label = str(server["username"]).split(":")
    assert label == "pt-gita" and 7100 < int(expiry) - time.time() <= 7200

    relayed = await _allocate(turn_server, str(server["username"]), str(server["credential"]))
    assert relayed[0] == "127.0.0.1" and relayed[1] > 0

    urls = (turn_server.urls,)
    expired = turn_credential(TURN_SECRET, urls, "pt-gita", ttl_s=60, now=time.time() - 3600)
    forged = turn_credential("another-secret-of-enough-length", urls, "pt-gita", ttl_s=600)
    for bad in (expired, forged):
        with pytest.raises(aioice.stun.TransactionFailed):
            await _allocate(turn_server, bad.username, bad.credential)


def test_turn_needs_its_secret_and_real_turn_urls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="turn_secret"):
        load_config(overrides={"turn_urls": "turn:relay.example.org:3478", "data_dir": tmp_path})
    with pytest.raises(ConfigError, match="not a TURN URL"):
        load_config(overrides={"turn_urls": "stun:relay.example.org", "turn_secret": TURN_SECRET, "data_dir": tmp_path})
    assert load_config(overrides={"data_dir": tmp_path}).ice_servers("pt-gita") == []


LOCAL_CANDIDATES_JS = """
async () => {
  const s = window.vaidya.session;
  const out = [];
  for (const pc of [s.publishPc, s.subscribePc]) {
    if (!pc) continue;
    const report = await pc.getStats();
    let selected = null;
    report.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) selected = r.selectedCandidatePairId; });
    report.forEach((r) => {
      if (r.type === "local-candidate") out.push({ type: r.candidateType, protocol: r.protocol, relay: r.relayProtocol });
    });
    const pair = selected && report.get(selected);
    out.push({ selected: pair ? report.get(pair.localCandidateId).candidateType : null });
  }
  return out;
}
"""


@pytest.fixture
def udp_blocked() -> Iterator[Callable[[list[int]], IsolatedNetwork]]:
    """Start an isolated network (TCP to the given host ports, nothing else) for the test; closed after."""
    why_not = isolated_network.available()
    if why_not is not None:
        pytest.skip(why_not)
    started: list[IsolatedNetwork] = []

    def start(ports: list[int]) -> IsolatedNetwork:
        started.append(IsolatedNetwork(ports))
        return started[-1]

    yield start
    for network in started:
        network.close()


def _host_address() -> str:
    """This machine's address on its outward interface (a UDP connect sends nothing)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]
    finally:
        probe.close()


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def test_the_isolated_network_carries_the_bridged_tcp_and_no_udp(udp_blocked) -> None:
    """The kernel enforces the block the browser tests rely on: a UDP datagram sent from inside to the host's
    loopback or outward address (where a socket waits) never arrives; bridged TCP does."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("0.0.0.0", 0))
    receiver.settimeout(1.0)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5.0)
    try:
        udp_port, tcp_port = receiver.getsockname()[1], listener.getsockname()[1]
        network = udp_blocked([tcp_port])
        interfaces = {line.split()[0].split("@")[0] for line in network.run("ip", "-brief", "link").stdout.splitlines()}
        assert interfaces == {"lo", "v0", "v1"}, interfaces  # both ends of the pair inside: nothing leads out
        for address in ("127.0.0.1", _host_address()):
            send = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ({address!r}, {udp_port}))"
            network.run(sys.executable, "-c", send)
            with pytest.raises(TimeoutError):
                receiver.recvfrom(10)
        connect = f"import socket; socket.create_connection(('127.0.0.1', {tcp_port}), timeout=5).sendall(b'hello')"
        assert network.run(sys.executable, "-c", connect).returncode == 0
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5.0)
            assert conn.recv(10) == b"hello"
    finally:
        receiver.close()
        listener.close()


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
async def test_browsers_whose_network_blocks_udp_meet_through_the_turn_relay(
    turn_server: TurnServer, udp_blocked, tmp_path: Path
) -> None:
    """Both browsers run in a network with TCP to the server and the relay and no UDP at all: the server's
    TURN credential takes their media through coturn (over TCP) to the SFU."""
    settings = {"turn_urls": turn_server.urls, "turn_secret": TURN_SECRET}
    errors: list[str] = []
    async with running_app(tmp_path / "data", **settings) as (base_url, secret, _app):
        network = udp_blocked([_port(base_url), turn_server.port])
        async with chromium(executable=network.launcher(CHROMIUM, tmp_path)) as browser:
            pages = []
            for identity, role in (("dr-asha", "doctor"), ("pt-gita", "patient")):
                page = await open_page(browser, errors, role)
                await page.goto(token_link(base_url, secret, "opd-turn", identity, role))
                pages.append(page)
            doctor, patient = pages
            await asyncio.gather(
                assert_decodes_growing_video(doctor, "the doctor"), assert_decodes_growing_video(patient, "the patient")
            )
            for page in (doctor, patient):
                candidates = await page.evaluate(LOCAL_CANDIDATES_JS)
                assert [c["selected"] for c in candidates if "selected" in c] == ["relay", "relay"], candidates
                relayed = [c for c in candidates if c.get("type") == "relay"]
                assert relayed and all(c["relay"] == "tcp" for c in relayed), candidates
    log = turn_server.log_text()
    for identity in ("dr-asha", "pt-gita"):
        assert f":{identity}>: incoming packet ALLOCATE processed, success" in log, log[-2000:]
    assert not errors, errors


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
async def test_without_turn_a_browser_whose_network_blocks_udp_gets_no_media(udp_blocked, tmp_path: Path) -> None:
    """The control: the same network with no TURN configured leaves the page no path to the SFU (so the test
    above used the relay, and the block is real)."""
    errors: list[str] = []
    async with running_app(tmp_path / "data") as (base_url, secret, _app):
        network = udp_blocked([_port(base_url)])
        async with chromium(executable=network.launcher(CHROMIUM, tmp_path)) as browser:
            page = await open_page(browser, errors, "patient")
            await page.goto(token_link(base_url, secret, "opd-no-turn", "pt-gita", "patient"))
            await wait_until(lambda: page.evaluate("!!(window.vaidya && window.vaidya.session && window.vaidya.session.publishPc)"),
                             "the page to start publishing")
            await asyncio.sleep(4.0)
            state = await page.evaluate("window.vaidya.session.publishPc.iceConnectionState")
            assert state in ("new", "checking", "failed"), state
            assert await inbound_video(page) in (None, {"framesDecoded": 0, "frameWidth": 0})
