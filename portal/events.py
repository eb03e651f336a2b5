"""Change notices for live pages: each OPD queue has a version that rises when anything in it changes.

A WebSocket handler remembers the version it last showed and waits for a newer one (or a time-out, to
refresh the ETA). In-process only: queue state itself lives in the database, so a restart loses nothing but
the waiting sockets, which reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib


class QueueEvents:
    def __init__(self) -> None:
        self._versions: dict[int, int] = {}
        self._changed = asyncio.Condition()

    def version(self, opd_id: int) -> int:
        return self._versions.get(opd_id, 0)

    async def changed(self, opd_id: int) -> None:
        async with self._changed:
            self._versions[opd_id] = self.version(opd_id) + 1
            self._changed.notify_all()

    async def wait(self, opd_id: int, seen: int, timeout: float) -> int:
        """Return the OPD's version once it is past `seen`, or after `timeout` seconds whatever it is."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version(opd_id) > seen), timeout)
            return self.version(opd_id)
