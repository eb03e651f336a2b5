"""`vaidya admin …` commands (filled in by the portal issue)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Nothing yet: the portal adds `vaidya admin` here."""

