"""A request body that stops arriving is cut off.

aiohttp closes a connection whose request *header* is not complete within its keep-alive timeout
(`http_idle_timeout_s`: the timer starts when the connection opens and after each reply, and bytes that
trickle in do not extend it). Once the header is in, though, nothing limits the body: a client that
announces 100 bytes and sends 10 holds the connection and a handler for ever. This middleware watches the
body while the handler runs: no new byte for `http_idle_timeout_s`, or less than `MIN_BODY_RATE` bytes a
second on average past that grace, and the connection is closed (the handler's read then fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from . import keys
from .client_address import client_address

log = logging.getLogger(__name__)

#: Bytes per second a body must average: a 2G uplink carries ~2,000; a photo of 5 MB then takes ~45 min.
MIN_BODY_RATE = 500.0


async def _watch(request: web.Request, idle_s: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    stream = request.content
    seen = stream.total_bytes
    while not stream.is_eof():
        await asyncio.sleep(idle_s)
        if stream.is_eof():
            return
        now = loop.time()
        stalled = stream.total_bytes == seen
        too_slow = stream.total_bytes < MIN_BODY_RATE * (now - started - idle_s)
        if stalled or too_slow:
            log.info("closing a request from %s whose body %s", client_address(request),
                     "stopped arriving" if stalled else "arrives too slowly")
            if request.transport is not None:
                request.transport.close()
            return
        seen = stream.total_bytes


@web.middleware
async def body_deadline(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    if not request.body_exists or request.content.is_eof():
        return await handler(request)
    watcher = asyncio.ensure_future(_watch(request, request.config_dict[keys.CONFIG].http_idle_timeout_s))
    try:
        return await handler(request)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def setup(app: web.Application) -> None:
    app.middlewares.append(body_deadline)
