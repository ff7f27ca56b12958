"""Reading plain HTML form fields: bounded text, dates and times in Copenhagen time."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal, overload

from flask import request
from flask_babel import gettext as _

from bridge.domain.calendar import CARE_ERA, COPENHAGEN


class FormError(Exception):
    """A field the user must correct; shown next to the field, the rest of the form kept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def text_field(name: str, max_length: int, *, required: bool = False) -> str:
    """A trimmed text field, refused when too long or (if required) empty."""
    value = request.form.get(name, "").strip()
    if len(value) > max_length:
        raise FormError(name, _("Write at most %(n)s characters.", n=max_length))
    if required and not value:
        raise FormError(name, _("Fill in this field."))
    return value


@overload
def date_field(name: str, *, required: Literal[True] = ...) -> date: ...


@overload
def date_field(name: str, *, required: bool) -> date | None: ...


def date_field(name: str, *, required: bool = True) -> date | None:
    """A ``YYYY-MM-DD`` date (what ``<input type=date>`` sends) within the care era, as the API
    takes it."""
    value = request.form.get(name, "").strip()
    if not value:
        if required:
            raise FormError(name, _("Choose a date."))
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise FormError(name, _("Write the date as YYYY-MM-DD.")) from None
    first, last = CARE_ERA
    if not first <= day <= last:
        raise FormError(
            name,
            _(
                "Choose a date between %(first)s and %(last)s.",
                first=first.isoformat(),
                last=last.isoformat(),
            ),
        )
    return day


def time_field(name: str, default: time | None = None) -> time:
    """A ``HH:MM`` time (what ``<input type=time>`` sends)."""
    value = request.form.get(name, "").strip()
    if not value and default is not None:
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise FormError(name, _("Write the time as HH:MM.")) from None


def at(day: date, clock: time) -> datetime:
    """The moment ``clock`` on ``day`` in Copenhagen."""
    return datetime.combine(day, clock, tzinfo=COPENHAGEN)


def int_field(name: str) -> int | None:
    """A whole number, or None when empty or not a number (e.g. an unchosen select)."""
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None
