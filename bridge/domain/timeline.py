"""A patient's course on one timeline, assembled from sources each area registers.

Each source runs ONE query for one patient, so a timeline costs a fixed number of statements
(one per source plus the access check) however long the history is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.audit import AuditAction
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.patients.models import Consent, Enrollment


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


TimelineSource = Callable[[Session, int], list[TimelineItem]]
_sources: list[TimelineSource] = []


def register_timeline_source(fn: TimelineSource) -> TimelineSource:
    """Add a source of timeline items (usable as a decorator); it must run one query."""
    if fn not in _sources:
        _sources.append(fn)
    return fn


def timeline_sources() -> tuple[TimelineSource, ...]:
    """The registered sources, in registration order."""
    return tuple(_sources)


def patient_timeline(session: Session, p: Principal, patient_id: int) -> list[TimelineItem]:
    """Everything on the patient's course, oldest first, for a caller who may see the patient."""
    from bridge.domain.patients.services import read_patient_scoped

    read_patient_scoped(session, p, patient_id, "timeline", AuditAction.READ)
    items: list[TimelineItem] = []
    for source in _sources:
        items.extend(source(session, patient_id))
    items.sort(key=lambda i: (i.at, i.type, i.resource_id))
    return items


def at_start_of_day(d: date) -> datetime:
    # Enrollments are kept as dates; place them at Copenhagen midnight so they sort with times.
    return datetime(d.year, d.month, d.day, tzinfo=COPENHAGEN)


@register_timeline_source
def _enrollments(session: Session, patient_id: int) -> list[TimelineItem]:
    items = []
    for e in session.scalars(select(Enrollment).where(Enrollment.patient_id == patient_id)):
        items.append(
            TimelineItem(
                "enrollment_started",
                at_start_of_day(e.start_date),
                "Forløb hos brobyggersygeplejerske startet",
                "active" if e.active else "ended",
                "enrollment",
                e.id,
            )
        )
        if e.end_date is not None:
            items.append(
                TimelineItem(
                    "enrollment_ended",
                    at_start_of_day(e.end_date),
                    "Forløb afsluttet",
                    "ended",
                    "enrollment",
                    e.id,
                )
            )
    return items


@register_timeline_source
def _consents(session: Session, patient_id: int) -> list[TimelineItem]:
    items = []
    for c in session.scalars(select(Consent).where(Consent.patient_id == patient_id)):
        status = "active" if c.active else "withdrawn"
        items.append(
            TimelineItem(
                "consent_given",
                c.given_at,
                f"Samtykke givet ({c.scope.value})",
                status,
                "consent",
                c.id,
            )
        )
        if c.withdrawn_at is not None:
            items.append(
                TimelineItem(
                    "consent_withdrawn",
                    c.withdrawn_at,
                    f"Samtykke trukket tilbage ({c.scope.value})",
                    status,
                    "consent",
                    c.id,
                )
            )
    return items
