"""Dates and times as a Danish reader expects them, always in Copenhagen time."""

from __future__ import annotations

from datetime import date, datetime

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN, deadline_day, deadline_text
from bridge.web.blueprint import current_language


def dk_date(value: date | datetime | None) -> str:
    """``24.12.2026``; a timestamp is first moved to Copenhagen time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(COPENHAGEN).date()
    return value.strftime("%d.%m.%Y")


def dk_datetime(value: datetime | None) -> str:
    """``24.12.2026 14.05`` in Copenhagen time (Danish writes the time with a full stop)."""
    if value is None:
        return ""
    return value.astimezone(COPENHAGEN).strftime("%d.%m.%Y %H.%M")


def iso_datetime(value: datetime | None) -> str:
    """The machine-readable form for ``<time datetime=...>``."""
    return "" if value is None else value.astimezone(COPENHAGEN).isoformat(timespec="minutes")


def dk_due(value: datetime | None) -> str:
    """A deadline as the working day it ends: ``fredag 20.11.`` (the year only when it is not
    this year), with the time for a deadline in hours; never the midnight instant it is stored as.
    """
    if value is None:
        return ""
    this_year = deadline_day(value).year == utcnow().astimezone(COPENHAGEN).year
    return deadline_text(value, current_language(), with_year=not this_year)


def iso_due(value: datetime | None) -> str:
    """The machine-readable day of a deadline, for ``<time datetime=...>``."""
    return "" if value is None else deadline_day(value).isoformat()
