"""glibc's allocator, kept honest for a server that runs for weeks.

Each peer connection allocates and frees native buffers (libsrtp, OpenSSL, codec contexts) from aiortc's
threads. glibc gives every such thread an arena of its own (up to 8 per core) and keeps what is freed for
reuse instead of returning it, so under churn the process's RSS ratchets up with every busy moment and
never comes down (the soak in docs/reliability.md saw +5–6 % in 24 minutes with flat object counts). Two
arenas and a periodic `malloc_trim` hand freed pages back to the kernel; neither changes what Python or
the codecs allocate. On a libc without these calls (musl, macOS) both are skipped.

Python's own collector is the other half: a full collection walks every tracked object with the event
loop stopped, and a media worker cannot stop for long (docs/scale.md). What is alive once the server has
started (modules, classes, functions, configuration) lives as long as the process, so it is frozen out of
every later collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
from collections.abc import AsyncIterator

from aiohttp import web


#: mallopt's parameter number for the arena limit (glibc's malloc.h).
M_ARENA_MAX = -8
ARENAS = 2
TRIM_INTERVAL_S = 60.0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - present only in glibc
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas for this process and the workers it starts (they read MALLOC_ARENA_MAX at exec).
    Call before threads start; an operator's own MALLOC_ARENA_MAX wins. True if the cap is in force."""
    wanted = os.environ.setdefault("MALLOC_ARENA_MAX", str(arenas))
    libc = _glibc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, int(wanted)) == 1


def trim() -> bool:
    """Return the allocator's free pages to the kernel now; True if any were returned."""
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1


async def trim_periodically(interval_s: float = TRIM_INTERVAL_S) -> None:
    """Trim every `interval_s` seconds, off the event loop (a trim walks the heap: milliseconds)."""
    if _glibc() is None:
        return
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval_s)
        await loop.run_in_executor(None, trim)


def freeze_startup_objects() -> int:
    """Exclude everything alive now from all later garbage collections (`gc.freeze`); call once start-up
    is done. Returns how many objects were frozen. Garbage among them is collected first."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def setup(app: web.Application) -> None:
    """Trim for as long as the application runs."""

    async def trimming(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(trim_periodically())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(trimming)
