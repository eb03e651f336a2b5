"""Dates and times as a person in the clinic reads them: stored instants stay UTC, shown in the clinic's zone.

An Indian clinic's day starts at 18:30 UTC the day before; printing the UTC date would date every
prescription written between midnight and 05:30 one day early. The zone comes from the configuration
(`timezone`, default Asia/Kolkata, as `signaling.config.Config.timezone`).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE: tzinfo = ZoneInfo("Asia/Kolkata")


def local_date(moment: datetime, zone: tzinfo = DEFAULT_ZONE) -> date:
    """The calendar date in the clinic at this instant."""
    return moment.astimezone(zone).date()


def date_text(day: date) -> str:
    """A date as printed on Indian prescriptions: DD-MM-YYYY."""
    return day.strftime("%d-%m-%Y")


def local_date_text(moment: datetime, zone: tzinfo = DEFAULT_ZONE) -> str:
    return date_text(local_date(moment, zone))


def local_stamp(moment: datetime, zone: tzinfo = DEFAULT_ZONE) -> str:
    """Date, time and zone abbreviation in the clinic, e.g. '27-11-2026 00:30 IST'."""
    local = moment.astimezone(zone)
    return f"{local.strftime('%d-%m-%Y %H:%M')} {local.tzname()}"
