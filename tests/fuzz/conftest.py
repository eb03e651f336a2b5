"""Fuzz fixtures: hypothesis profiles, and the real application (real SQLite file) running in a background
event loop that synchronous properties drive through `live.run(coroutine)`.

Profiles: `ci` (the default, in `make test`: a few seconds per property) and `fuzz` (`make fuzz`: many more
examples, failures kept in .hypothesis/). Choose one with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from portal.context import PORTAL
from portal.security import RateLimiter
from signaling.app import create_app
from signaling.config import Config, load_config
from tests.portal.conftest import Clinic, make_clinic

from .loop_thread import LoopThread

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
# ci: the same examples every run (exploring is `make fuzz`'s job; CI fails only on a change of ours)
settings.register_profile("ci", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                          database=None, derandomize=True, suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2000")), deadline=None,
                          database=DirectoryBasedExampleDatabase(".hypothesis/fuzz"),
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Budgets far above anything a property sends: the properties test validation, not rate limiting.
UNLIMITED = RateLimiter(burst=10**9, per_s=1e9)


@dataclass
class Live:
    """The whole application on 127.0.0.1 in a background loop, over a real data dir."""

    loop: LoopThread
    base_url: str
    config: Config
    app: web.Application
    clinic: Clinic
    data_dir: Path

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def run(self, coro, timeout: float = 30.0):
        return self.loop.run(coro, timeout)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from _live(tmp_path_factory, workers=0)


@pytest.fixture(scope="module")
def live_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The same, with rooms in a worker process behind the front (`vaidya serve --workers 1`)."""
    yield from _live(tmp_path_factory, workers=1)


def _live(tmp_path_factory: pytest.TempPathFactory, workers: int) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    clinic = make_clinic(data_dir)
    config = load_config(None, {"data_dir": data_dir, "dev": True, "host": "127.0.0.1", "port": 0,
                                "ws_rate_burst": 10**6, "ws_rate_per_s": 1e6, "workers": workers})
    loop = LoopThread()
    app = create_app(config)
    runner = web.AppRunner(app)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    base_url = loop.run(start())
    config.public_url = base_url
    limits = app[PORTAL].limits
    limits.post = limits.read = limits.login = UNLIMITED
    try:
        yield Live(loop, base_url, config, app, clinic, data_dir)
    finally:
        loop.run(runner.cleanup())
        loop.stop()
