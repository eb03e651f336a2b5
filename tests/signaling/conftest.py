"""Fixtures for the browser tests here: the real server on a free port, and Debian's Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser

from bench.shaper_process import ShaperProcess
from tests.helpers.browser import chromium, running_app, running_server


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(base URL, token secret) of the whole application running on 127.0.0.1."""
    async with running_server(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def live_app(tmp_path: Path) -> AsyncIterator[tuple[str, str, web.Application]]:
    """(base URL, token secret, the app itself: a test can reach the rooms and sessions it holds)."""
    async with running_app(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
def shaper() -> Iterator[ShaperProcess]:
    """The bench's shaping relay in its own process (a link per test: `shaper.add_link(profile)`)."""
    with ShaperProcess() as process:
        yield process
