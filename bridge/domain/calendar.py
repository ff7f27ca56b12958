"""Danish working days ("hverdage") and deadline arithmetic in Europe/Copenhagen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "ANY_ERA",
    "CARE_ERA",
    "CLOSABLE_DAYS",
    "COPENHAGEN",
    "DEFAULT_CALENDAR",
    "WorkingDayCalendar",
    "deadline_day",
    "deadline_in_hours",
    "deadline_text",
]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

# The plausible windows of the dates people type in (first and last day, inclusive). Registry
# dates (diagnoses, organisations' validity, filters) may lie far back; care records and plans
# (stays, consents, enrolments, meetings, deadlines) belong to the era of electronic records.
# Outside them a date is a typing error: a year 445 would be stored, and read back in
# Copenhagen's 1890s local mean time, "+00:50:20".
ANY_ERA: tuple[date, date] = (date(1900, 1, 1), date(2100, 12, 31))
CARE_ERA: tuple[date, date] = (date(2000, 1, 1), date(2100, 12, 31))

# Days that are ordinary working days by law but that a region may choose to close.
CLOSABLE_DAYS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "grundlovsdag": (6, 5),
        "juleaften": (12, 24),
        "nytaarsaften": (12, 31),
    }
)

_SATURDAY = 5


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    """Return the statutory Danish public holidays of one year."""
    # Ask for the PUBLIC category explicitly: the library files Grundlovsdag, Juleaftensdag,
    # Nytårsaften and 1 May under OPTIONAL, and those must not close days unless configured.
    # Dates only, because the holiday names depend on the process locale.
    return frozenset(
        holidays.country_holidays("DK", years=year, categories=(holidays.PUBLIC,)).keys()
    )


@lru_cache(maxsize=256)
def _closed_dates(year: int, extra_closed_days: frozenset[str]) -> frozenset[date]:
    """Return the public holidays plus the configured closed days of one year."""
    extra = {date(year, *CLOSABLE_DAYS[name]) for name in extra_closed_days}
    return _public_holidays(year) | extra


def _require_date(value: date, name: str) -> None:
    """Reject datetimes passed where a calendar date is expected."""
    # datetime subclasses date but never equals one, so holiday lookups would silently miss.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, not {type(value).__name__}")


def _require_aware(moment: datetime) -> None:
    """Reject naive datetimes."""
    # A naive time has no defined Copenhagen date, so any deadline derived from it is a guess.
    if not isinstance(moment, datetime):
        raise TypeError(f"moment must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")


def _require_positive(value: int, name: str) -> None:
    """Reject non-integers and values below one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


@dataclass(frozen=True)
class WorkingDayCalendar:
    """Danish working days, optionally with Grundlovsdag, 24 Dec and/or 31 Dec closed."""

    extra_closed_days: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Normalise and validate the configured extra closed days."""
        names = self.extra_closed_days
        # A bare string would otherwise be split into letters and fail with a confusing error.
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise TypeError("extra_closed_days must be a collection of day names")
        normalised = frozenset(names)
        unknown = sorted(str(n) for n in normalised - CLOSABLE_DAYS.keys())
        if unknown:
            allowed = ", ".join(sorted(CLOSABLE_DAYS))
            raise ValueError(f"unknown closed day(s) {unknown}; allowed: {allowed}")
        # Coerce sets/lists to a frozenset so the calendar stays hashable and cache-friendly.
        object.__setattr__(self, "extra_closed_days", normalised)

    def is_working_day(self, d: date) -> bool:
        """Return True if d is Monday-Friday and not a holiday or configured closed day."""
        _require_date(d, "d")
        return d.weekday() < _SATURDAY and d not in _closed_dates(d.year, self.extra_closed_days)

    def add_working_days(self, start: date, n: int) -> date:
        """Return the n-th working day after start (start itself never counts)."""
        _require_date(start, "start")
        _require_positive(n, "n")
        current = start
        remaining = n
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def deadline_after(self, moment: datetime, working_days: int) -> datetime:
        """Return the end of the N-th working day after moment (Copenhagen midnight) in UTC."""
        _require_aware(moment)
        # The working day is decided by the Copenhagen wall clock, not by UTC.
        local_day = moment.astimezone(COPENHAGEN).date()
        due_day = self.add_working_days(local_day, working_days)
        # Midnight always exists in Copenhagen (DST switches at 02:00/03:00), so this is exact.
        end_of_day = datetime.combine(due_day + timedelta(days=1), time.min, tzinfo=COPENHAGEN)
        return end_of_day.astimezone(UTC)


def deadline_in_hours(moment: datetime, hours: int) -> datetime:
    """Return moment plus the given elapsed hours, as an aware UTC datetime."""
    _require_aware(moment)
    _require_positive(hours, "hours")
    # Add in UTC: adding to a ZoneInfo datetime is wall-clock arithmetic and drifts across DST.
    return moment.astimezone(UTC) + timedelta(hours=hours)


DEFAULT_CALENDAR = WorkingDayCalendar()


def deadline_day(due: datetime) -> date:
    """The Copenhagen day a deadline ends on: the last day on which the task is still in time.

    Working-day deadlines are stored as the midnight that starts the next day (so "overdue" is a
    plain ``due < now``); shown as that instant they read one day late, often a Saturday.
    """
    _require_aware(due)
    local = due.astimezone(COPENHAGEN)
    if local.time() == time.min:
        return local.date() - timedelta(days=1)
    return local.date()


def deadline_ends_with_day(due: datetime) -> bool:
    """True for a deadline at the end of a day (no clock time worth showing)."""
    _require_aware(due)
    return due.astimezone(COPENHAGEN).time() == time.min


_WEEKDAYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    }
)


def day_text(d: date, language: str = "da", *, with_year: bool = True) -> str:
    """``fredag 20.11.2026``: a day as messages write it (weekday, so nobody misreads it);
    ``fredag 20.11.`` without the year."""
    _require_date(d, "d")
    weekdays = _WEEKDAYS.get(language, _WEEKDAYS["da"])
    return f"{weekdays[d.weekday()]} {d:%d.%m.}" + (f"{d:%Y}" if with_year else "")


def deadline_text(due: datetime, language: str = "da", *, with_year: bool = True) -> str:
    """A deadline as messages write it: ``fredag 20.11.2026``, with the time when it has one
    (``mandag 23.11.2026 kl. 14.00``)."""
    text = day_text(deadline_day(due), language, with_year=with_year)
    if deadline_ends_with_day(due):
        return text
    clock = f"{due.astimezone(COPENHAGEN):%H.%M}"
    return f"{text} kl. {clock}" if language == "da" else f"{text} at {clock}"
