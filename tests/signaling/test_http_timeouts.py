"""Slow clients on real sockets against a real `vaidya serve`: a header or a body that stops arriving, or an
idle connection, is closed after `http_idle_timeout_s`; a slow but steady upload is not cut off."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.helpers.server import ServerProcess

IDLE_S = 2.0
FORM_HEAD = (b"POST /portal/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: %d\r\n\r\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("slow") / "data",
                         extra_env={"VAIDYA_HTTP_IDLE_TIMEOUT_S": str(IDLE_S)})
    yield proc
    proc.stop()


def watch(server: ServerProcess, first: bytes, drip: bytes = b"", every_s: float = 0.3,
          limit_s: float = 4 * IDLE_S) -> tuple[float | None, bytes]:
    """Send `first`, then `drip` every `every_s`; (seconds until the server closed, or None; what it sent)."""
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.settimeout(every_s)
        started = time.monotonic()
        s.sendall(first)
        received = b""
        while time.monotonic() - started < limit_s:
            try:
                if drip:
                    s.sendall(drip)
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return time.monotonic() - started, received
            if not chunk:
                return time.monotonic() - started, received
            received += chunk
        return None, received


@pytest.mark.parametrize("first, drip", [
    (b"", b""),                                                # connects and says nothing
    (b"GET /portal/ HTTP/1.1\r\nHost: x\r\n", b""),            # half a header, then silence
    (b"GET /portal/ HTTP/1.1\r\n", b"X"),                      # slowloris: a header byte now and then
    (FORM_HEAD % 100 + b"mobile=98", b""),                     # the header, then part of the body
], ids=["silent", "half-header", "dripped-header", "half-body"])
def test_a_request_that_stops_arriving_is_closed_after_the_idle_timeout(server, first, drip):
    closed_after, received = watch(server, first, drip)
    assert closed_after is not None, "the server kept the connection open"
    assert IDLE_S * 0.8 <= closed_after <= IDLE_S * 2.5, closed_after
    assert received == b"", "no reply is owed to half a request"


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(server):
    closed_after, received = watch(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200")
    assert closed_after is not None and closed_after <= IDLE_S * 2.5


def test_a_slow_but_steady_upload_gets_its_reply(server):
    body = b"mobile=" + b"9" * (6 * 1024)
    chunks = [body[i:i + 1024] for i in range(0, len(body), 1024)]
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(FORM_HEAD % len(body))
        for chunk in chunks:  # ~1.7 kB/s for 3.5 s: longer than the idle timeout, faster than a 2G floor
            time.sleep(0.6)
            s.sendall(chunk)
        s.settimeout(5)
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 403"), reply[:80]  # no CSRF cookie: a reply, not a cut connection


async def test_an_open_websocket_outlives_the_idle_timeout(server):
    """The timer is for HTTP requests: a consultation's signaling socket stays up however quiet it is."""
    import asyncio

    import aiohttp

    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.ws_url, autoping=True)
        await asyncio.sleep(IDLE_S * 2)
        await ws.send_str('{"type": "nonsense"}')
        reply = await ws.receive(timeout=5)
        assert reply.type == aiohttp.WSMsgType.TEXT and '"error"' in reply.data
        await ws.close()
