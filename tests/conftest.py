"""Shared test helpers: a `wait_until` that says what it waited for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_until(
    check: Callable[[], Any | Awaitable[Any]], what: str, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns a truthy value; fail naming `what` on time-out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(interval)


import pytest_asyncio  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402


@pytest_asyncio.fixture
async def sfu_server(tmp_path):
    """A real Vaidya server in this process on a loopback port (its app is `sfu_server.app`)."""
    from signaling.app import create_app
    from signaling.config import load_config
    from tests.helpers.server import SECRET

    config = load_config(None, {"data_dir": tmp_path / "data", "secret": SECRET})
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    server.ws_url = f"ws://127.0.0.1:{server.port}/ws"
    yield server
    await server.close()


@pytest_asyncio.fixture
async def clients():
    """Signaling clients opened by a test, all closed at its end."""
    from signaling.client import SignalingClient

    opened: list[SignalingClient] = []

    async def open_client(url: str) -> SignalingClient:
        client = await SignalingClient(url).connect()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()
