"""`vaidya rx …` commands (filled in by the Rx issue)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Nothing yet: the Rx module adds `vaidya rx` here."""
