"""The signaling route table: the WebSocket and the room page."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Mount signaling's routes."""
