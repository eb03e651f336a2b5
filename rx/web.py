"""Mounts the Rx routes on the application (filled in by the Rx issue)."""

from __future__ import annotations

from aiohttp import web

from signaling.config import Config


def setup(app: web.Application, config: Config) -> None:
    """Nothing yet: the Rx module adds its routes here."""
