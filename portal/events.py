"""Change notices for live pages: each OPD queue has a version that rises when anything in it changes.

Listeners (`listen`) hear of each change too, in a task of their own, so a slow one (an SMS gateway) never
holds up the doctor's click that caused it; `drain` waits for those tasks (shutdown, tests).

A WebSocket handler remembers the version it last showed and waits for a newer one (or a time-out, to
refresh the ETA). In-process only: queue state itself lives in the database, so a restart loses nothing but
the waiting sockets, which reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Listener = Callable[[int], Awaitable[None]]


class QueueEvents:
    def __init__(self) -> None:
        self._versions: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def listen(self, listener: Listener) -> None:
        """Call `listener(opd_id)` after every change of an OPD's queue."""
        self._listeners.append(listener)

    async def drain(self) -> None:
        """Wait until the listeners have handled every change so far."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def version(self, opd_id: int) -> int:
        return self._versions.get(opd_id, 0)

    async def changed(self, opd_id: int) -> None:
        async with self._changed:
            self._versions[opd_id] = self.version(opd_id) + 1
            self._changed.notify_all()
        for listener in self._listeners:
            task = asyncio.create_task(self._hear(listener, opd_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _hear(listener: Listener, opd_id: int) -> None:
        try:
            await listener(opd_id)
        except Exception:  # a failing listener must not break the queue
            log.exception("queue listener failed for OPD %s", opd_id)

    async def wait(self, opd_id: int, seen: int, timeout: float) -> int:
        """Return the OPD's version once it is past `seen`, or after `timeout` seconds whatever it is."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version(opd_id) > seen), timeout)
            return self.version(opd_id)
