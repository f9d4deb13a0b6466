"""Dates and times as the viewer reads them: in their own time zone, with the zone named."""
from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timezone, tzinfo

from flask import Flask
from flask_login import current_user


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``, or UTC for an empty or unknown name."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def viewer_zone() -> str:
    """The signed-in user's zone name (UTC for visitors)."""
    return (getattr(current_user, "timezone", None) or "UTC") if current_user else "UTC"


def local_time(moment: datetime | None, tz: str | None = None, with_year: bool = True) -> str:
    """``Tue 14 Mar 2027, 09:00 CDT``: an aware instant in zone ``tz`` (the viewer's by default); "" for None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # stored times are UTC; SQLite hands some back naive
        moment = moment.replace(tzinfo=timezone.utc)
    shown = moment.astimezone(zone(tz if tz is not None else viewer_zone()))
    year = f" {shown:%Y}" if with_year else ""
    return f"{shown:%a} {shown.day} {shown:%b}{year}, {shown:%H:%M} {shown.tzname()}"


def local_date(moment: datetime | date | None, tz: str | None = None) -> str:
    """``14 Mar 2027``: the calendar day an instant falls on in the viewer's zone (a date as it is)."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(zone(tz if tz is not None else viewer_zone())).date()
    return f"{moment.day} {moment:%b %Y}"


def iso(moment: datetime | None) -> str:
    """The instant for a ``<time datetime>`` attribute (machine-readable, UTC offset included)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def register_time_filters(app: Flask) -> None:
    """``{{ when|local_time }}``, ``{{ when|local_date }}`` and ``{{ when|iso }}`` in every template."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(iso, "iso")
    app.add_template_global(local_time, "local_time")
