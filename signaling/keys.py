"""Typed application keys: every shared object the aiohttp app holds, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .config import Config

if TYPE_CHECKING:
    from .front import WorkerPool
    from .registry import RoomRegistry
    from .room_log import RoomLog

CONFIG = web.AppKey("config", Config)
REGISTRY: web.AppKey["RoomRegistry"] = web.AppKey("registry")
#: With `--workers N`: the worker processes that own the rooms (the front keeps no registry).
WORKERS: web.AppKey["WorkerPool"] = web.AppKey("workers")
#: Where rooms keep their chat and photos: in memory unless the composition root installs the portal's log.
ROOM_LOG: web.AppKey["RoomLog"] = web.AppKey("room_log")
