"""A patient's course on one timeline, assembled from sources each area registers.

A source is a SELECT of one common row shape (``TIMELINE_COLUMNS``), built once at import and
filtered by ``PATIENT_ID``, plus a function that turns each of its rows into items. The timeline
runs every source's SELECT as ONE ``UNION ALL`` statement, so it costs the access check and one
query, however many sources there are and however long the history is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.base import UTCDateTime, utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.patients.models import Consent, Enrollment
from bridge.domain.patients.services import check_patient_sight


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened, or is due, in a patient's course."""

    type: str
    at: datetime
    title: str
    status: str | None
    resource: str
    resource_id: int
    overdue: bool = False


# The row shape every source's SELECT has, so that all of them fit in one UNION ALL. A source
# fills the columns it needs (by name, see timeline_select) and the rest are typed NULLs:
#   id           the resource the items link to
#   at           the moment of the first item
#   second_at    a second moment: a discharge, a withdrawal, a task done, a hold-by deadline
#   day          the first item's day, for facts kept as dates (enrollments, plans); kept apart
#   second_day   from the timestamps because a date is placed at Copenhagen midnight in Python
#   text         free text: a title, a department's name, a place, a message
#   code         a stored enum value: a status, a scope, a kind
#   number       a small integer: a version number, a boolean (cast to INTEGER by the source)
# Every column has one type in every SELECT. PostgreSQL refuses a UNION of unrelated types (a
# boolean with an integer, an untyped NULL with a timestamp) and SQLAlchemy converts a UNION's
# rows by the types of its first SELECT: one type per column makes timestamps come back aware
# and dates as dates on SQLite too. Enum columns are VARCHARs holding their values (str_enum),
# so they fit ``code`` without a cast and arrive as those values.
TIMELINE_COLUMNS: dict[str, TypeEngine[Any]] = {
    "id": Integer(),
    "at": UTCDateTime(),
    "second_at": UTCDateTime(),
    "day": Date(),
    "second_day": Date(),
    "text": String(),
    "code": String(),
    "number": Integer(),
}

# The one parameter of every source's SELECT.
PATIENT_ID = bindparam("patient_id", type_=Integer)

TimelineRow = Row[Any]
RowItems = Callable[[TimelineRow, datetime], list[TimelineItem]]


@dataclass(frozen=True, eq=False)
class TimelineQuery:
    """A source that is one SELECT of the timeline's row shape, and how a row becomes items.

    ``items`` gets each row (columns by name, as in ``TIMELINE_COLUMNS``) and the time of the
    request, for whatever is overdue.
    """

    select: Select[Any]
    items: RowItems


_sources: list[TimelineQuery] = []


def timeline_select(**columns: ColumnElement[Any] | QueryableAttribute[Any]) -> Select[Any]:
    """A SELECT of the timeline's row shape: the given columns by name, NULL for the rest.

    Add the joins and a ``PATIENT_ID`` filter. A column whose database type differs from its
    slot's (a boolean for ``number``) must be cast by the caller; only the Python side is
    adjusted here.
    """
    unknown = columns.keys() - TIMELINE_COLUMNS.keys()
    if unknown:
        raise TypeError(f"not timeline columns: {sorted(unknown)}")

    def column(name: str, type_: TypeEngine[Any]) -> ColumnElement[Any]:
        given = columns.get(name)
        return (cast(null(), type_) if given is None else type_coerce(given, type_)).label(name)

    return select(*(column(name, type_) for name, type_ in TIMELINE_COLUMNS.items()))


def register_timeline_query(query: Select[Any]) -> Callable[[RowItems], RowItems]:
    """Add a source (as a decorator on its row-to-items function) whose rows ``query`` selects.

    ``query`` is a ``timeline_select`` built once at import; it joins the timeline's UNION ALL.
    """

    def register(items: RowItems) -> RowItems:
        register_timeline_sources([TimelineQuery(query, items)])
        return items

    return register


def register_timeline_sources(sources: Iterable[TimelineQuery]) -> None:
    """Add sources to every patient's timeline (each once), in the given order."""
    for source in sources:
        if not any(s.items is source.items for s in _sources):
            _sources.append(source)


def timeline_sources() -> tuple[TimelineQuery, ...]:
    """The registered sources, in registration order."""
    return tuple(_sources)


@lru_cache(maxsize=4)
def _union(queries: tuple[TimelineQuery, ...]) -> CompoundSelect[Any]:
    # Built once for the registered set (a test may register another source for a while). Each
    # row carries its source's position, so it goes to that source's items().
    return union_all(
        *(
            q.select.add_columns(literal_column(str(n), Integer()).label("source"))
            for n, q in enumerate(queries)
        )
    )


def patient_timeline(session: Session, p: Principal, patient_id: int) -> list[TimelineItem]:
    """Everything on the patient's course, oldest first, for a caller who may see the patient."""
    check_patient_sight(session, p, patient_id, "timeline", AuditAction.READ)
    now = utcnow()
    sources = tuple(_sources)
    items: list[TimelineItem] = []
    for row in session.execute(_union(sources), {"patient_id": patient_id}):
        items.extend(sources[row.source].items(row, now))
    # Sorted here, not in SQL: one row can make two items at different moments.
    items.sort(key=lambda i: (i.at, i.type, i.resource_id))
    return items


def at_start_of_day(d: date) -> datetime:
    # Enrollments are kept as dates; place them at Copenhagen midnight so they sort with times.
    return datetime(d.year, d.month, d.day, tzinfo=COPENHAGEN)


_ENROLLMENTS = timeline_select(
    id=Enrollment.id, day=Enrollment.start_date, second_day=Enrollment.end_date
).where(Enrollment.patient_id == PATIENT_ID)


def _enrollment_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    ended_on = row.second_day
    items = [
        TimelineItem(
            "enrollment_started",
            at_start_of_day(row.day),
            "Forløb hos brobyggersygeplejerske startet",
            "active" if ended_on is None else "ended",
            "enrollment",
            row.id,
        )
    ]
    if ended_on is not None:
        items.append(
            TimelineItem(
                "enrollment_ended",
                at_start_of_day(ended_on),
                "Forløb afsluttet",
                "ended",
                "enrollment",
                row.id,
            )
        )
    return items


_CONSENTS = timeline_select(
    id=Consent.id, at=Consent.given_at, second_at=Consent.withdrawn_at, code=Consent.scope
).where(Consent.patient_id == PATIENT_ID)


def _consent_items(row: TimelineRow, now: datetime) -> list[TimelineItem]:
    withdrawn_at, scope = row.second_at, row.code
    status = "active" if withdrawn_at is None else "withdrawn"
    items = [
        TimelineItem(
            "consent_given", row.at, f"Samtykke givet ({scope})", status, "consent", row.id
        )
    ]
    if withdrawn_at is not None:
        items.append(
            TimelineItem(
                "consent_withdrawn",
                withdrawn_at,
                f"Samtykke trukket tilbage ({scope})",
                status,
                "consent",
                row.id,
            )
        )
    return items


#: This module's sources, for the composition (bridge/bootstrap.py) to register.
SOURCES: tuple[TimelineQuery, ...] = (
    TimelineQuery(_ENROLLMENTS, _enrollment_items),
    TimelineQuery(_CONSENTS, _consent_items),
)
