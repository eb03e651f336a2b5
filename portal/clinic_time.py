"""The clinic's calendar: today's date and the wall-clock time where the clinic is (config `timezone`).

Token days, OPD hours and ages are the clinic's, not the server's: a server running in UTC would
otherwise date a token booked at 00:30 in India yesterday (and expire it at 05:30), and open a 09:00
OPD at 14:30. The zone is set once from the configuration when the portal starts.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from signaling.config import Config

_zone: dt.tzinfo = ZoneInfo(Config.timezone)


def use_zone(zone: dt.tzinfo) -> None:
    """Set the clinic's zone (the portal does this from its configuration at start)."""
    global _zone
    _zone = zone


def zone() -> dt.tzinfo:
    return _zone


def now() -> dt.datetime:
    """The clinic's wall-clock time, zone-aware."""
    return dt.datetime.fromtimestamp(time.time(), _zone)


def today() -> dt.date:
    """The clinic's calendar date."""
    return now().date()
