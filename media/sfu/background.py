"""Work the forwarding path starts but never waits for.

Forwarding is synchronous: a received packet goes to every subscriber without yielding to the event
loop, as a C SFU's worker does, because each coroutine layer per packet-hop costs more than the header
rewrite itself. What would have to wait (RTCP on the way, such as a NACK upstream, and aiortc's own send
path where a TURN relay wraps the data) is started here as a task instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Future[Any]] = set()  # the loop keeps only weak references to tasks


def spawn(work: Coroutine[Any, Any, Any]) -> None:
    """Run `work` on the event loop; a ConnectionError (the peer went away meanwhile) is expected."""
    task = asyncio.ensure_future(work)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Future[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, ConnectionError):
        log.warning("background send failed", exc_info=error)
