"""bench/tcp_shaper.py: bytes pass intact at the link's pace, and a cut drops the connection mid-stream."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bench.tcp_shaper import TcpShaper


async def echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_bytes_cross_intact_at_the_links_rate() -> None:
    server, port = await echo_server()
    shaper = TcpShaper(("127.0.0.1", port), up_kbps=150, down_kbps=1000)
    host, shaped = await shaper.start()
    payload = os.urandom(20_000)
    try:
        reader, writer = await asyncio.open_connection(host, shaped)
        started = time.monotonic()
        writer.write(payload)
        await writer.drain()
        echoed = await asyncio.wait_for(reader.readexactly(len(payload)), 10)
        elapsed = time.monotonic() - started
        writer.close()
    finally:
        await shaper.close()
        server.close()
    assert echoed == payload
    ideal = len(payload) * 8 / 150_000  # 1.07 s
    assert ideal * 0.95 <= elapsed <= ideal * 1.6, f"{elapsed:.2f} s for {ideal:.2f} s of link time"


async def test_a_cut_drops_every_connection_once_after_the_given_bytes() -> None:
    server, port = await echo_server()
    shaper = TcpShaper(("127.0.0.1", port), up_kbps=2000)
    host, shaped = await shaper.start()
    try:
        shaper.cut_after(5_000)
        reader, writer = await asyncio.open_connection(host, shaped)
        writer.write(os.urandom(20_000))
        got = b""
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            while True:
                chunk = await asyncio.wait_for(reader.read(4096), 5)
                if not chunk:
                    raise asyncio.IncompleteReadError(got, None)
                got += chunk
        assert 4_000 <= shaper.bytes_up <= 6_024 and shaper.cuts == 1
        # The next connection is not cut again.
        reader, writer = await asyncio.open_connection(host, shaped)
        writer.write(b"x" * 8_000)
        assert len(await asyncio.wait_for(reader.readexactly(8_000), 5)) == 8_000
        writer.close()
    finally:
        await shaper.close()
        server.close()
