"""Fixtures for the Rx tests: a service on a fresh SQLite file with a fixed clock, and a whole site."""

from __future__ import annotations

import pytest

from rx.service import RxService
from rx.store import Store
from signaling.app import create_app
from signaling.config import load_config

from .builders import ISSUED, SECRET
from .web_harness import Visitor, make_clinic


@pytest.fixture
def service(tmp_path) -> RxService:
    return RxService(Store(tmp_path / "vaidya.db"), SECRET, clock=lambda: ISSUED)


@pytest.fixture
async def site(tmp_path, aiohttp_server, aiohttp_client):
    clinic = make_clinic(tmp_path)
    config = load_config(None, {"data_dir": tmp_path})
    server = await aiohttp_server(create_app(config))
    config.public_url = str(server.make_url("")).rstrip("/")

    async def visitor(kind: str | None = None, subject: str | None = None) -> Visitor:
        v = Visitor(await aiohttp_client(server), server.app)
        return await v.log_in(kind, subject) if kind else v

    return clinic, server.app, visitor
