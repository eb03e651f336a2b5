"""Fixtures for the Rx tests: a service on a fresh SQLite file with a fixed clock."""

from __future__ import annotations

import pytest

from rx.service import RxService
from rx.store import Store

from .builders import ISSUED, SECRET


@pytest.fixture
def service(tmp_path) -> RxService:
    return RxService(Store(tmp_path / "vaidya.db"), SECRET, clock=lambda: ISSUED)
