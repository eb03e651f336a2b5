"""Mounts the portal's routes on the application (filled in by the portal issue)."""

from __future__ import annotations

from aiohttp import web

from signaling.config import Config


def setup(app: web.Application, config: Config) -> None:
    """Nothing yet: the portal adds its routes, storage and templates here."""
