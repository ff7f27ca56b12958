"""Organisations as of a date: validity, successors and membership over time.

Every "which organisation" question (a patient's region, a nurse's employer, a municipality's
region or health council, whether a recipient still exists) is asked for a date, because on
1 January 2027 the answers change while the rows and their ids stay.

The model, and why it is the simplest that answers correctly: an organisation keeps its id for
life and carries ``valid_from``/``valid_to`` and a ``successor_id``. Which region (or health
council) it belongs to is a row of ``organisation_membership`` per period, so a hospital of
Region Hovedstaden is the same row (same SOR code, same admissions) before and after the merger
and simply belongs to Region Østdanmark from 2027-01-01. Successor departments would have
needed new ids and a move of every admission, task and distribution that names the old ones.
Where an organisation has no membership row for a date, its ``parent_id`` answers, and a
parent region that has closed by then hands over to its successor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.registry.models import (
    BridgeNurse,
    Organisation,
    OrganisationKind,
    OrganisationMembership,
)


def copenhagen_today(now: datetime | None = None) -> date:
    """The Danish calendar date of ``now`` (default: this moment): validity is by Danish date."""
    return (now or utcnow()).astimezone(COPENHAGEN).date()


# Deep enough for department -> hospital -> region and a chain of mergers; guards a cycle.
_MAX_HOPS = 8


def valid_on(valid_from: Any, valid_to: Any, on: date) -> ColumnElement[bool]:
    """SQL: the period [valid_from, valid_to] (either end open when NULL) contains ``on``."""
    return and_(
        or_(valid_from.is_(None), valid_from <= on),
        or_(valid_to.is_(None), valid_to >= on),
    )


def valid_between(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    """Whether the period [valid_from, valid_to] (None = open end) contains ``on``."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or valid_to >= on)


def is_valid_on(org: Organisation, on: date) -> bool:
    """Whether ``org`` exists on ``on``."""
    return valid_between(org.valid_from, org.valid_to, on)


def periods_overlap(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> bool:
    """Whether two closed periods (None = open end) share a day."""
    return (a_to is None or b_from is None or b_from <= a_to) and (
        b_to is None or a_from is None or a_from <= b_to
    )


def check_identifiers_free(session: Session, org: Organisation) -> None:
    """Refuse (409) a SOR code or GLN that another organisation holds in an overlapping period.

    A code whose first holder closed before this one opens may be reused.
    """
    for field in ("sor_code", "gln"):
        value = getattr(org, field)
        if value is None:
            continue
        column = getattr(Organisation, field)
        stmt = select(Organisation.id, Organisation.valid_from, Organisation.valid_to).where(
            column == value
        )
        if org.id is not None:
            stmt = stmt.where(Organisation.id != org.id)
        others = session.execute(stmt).all()
        for other_id, other_from, other_to in others:
            if periods_overlap(org.valid_from, org.valid_to, other_from, other_to):
                raise Conflict(
                    f"{field} {value} is held by organisation {other_id} in an overlapping "
                    "validity period"
                )


def successor_on(session: Session, org: Organisation, on: date) -> Organisation:
    """``org`` itself if it exists on ``on``, else the successor that does (chain followed)."""
    current = org
    for _ in range(_MAX_HOPS):
        if is_valid_on(current, on) or current.successor_id is None:
            return current
        nxt = session.get(Organisation, current.successor_id)
        if nxt is None:
            return current
        current = nxt
    return current


def group_of(
    session: Session, org_id: int, kind: OrganisationKind, on: date
) -> Organisation | None:
    """The organisation of ``kind`` (region, health council) ``org_id`` belongs to on ``on``."""
    group = aliased(Organisation)
    current_id: int | None = org_id
    for _ in range(_MAX_HOPS):
        if current_id is None:
            return None
        org = session.get(Organisation, current_id)
        if org is None:
            return None
        if org.kind == kind:
            return successor_on(session, org, on)
        member = session.scalar(
            select(group)
            .join(OrganisationMembership, OrganisationMembership.group_id == group.id)
            .where(
                OrganisationMembership.organisation_id == org.id,
                group.kind == kind,
                valid_on(OrganisationMembership.valid_from, OrganisationMembership.valid_to, on),
            )
            .order_by(OrganisationMembership.id)
            .limit(1)
        )
        if member is not None:
            return member
        current_id = org.parent_id
    return None


def region_of(session: Session, org_id: int, on: date) -> Organisation | None:
    """The region an organisation (municipality, hospital, department, practice) belongs to."""
    return group_of(session, org_id, OrganisationKind.REGION, on)


def health_council_of(session: Session, municipality_id: int, on: date) -> Organisation | None:
    """The health council a municipality is a member of on ``on`` (None before 2027)."""
    return group_of(session, municipality_id, OrganisationKind.HEALTH_COUNCIL, on)


def nurse_employer(session: Session, nurse: BridgeNurse, on: date) -> Organisation:
    """The region that employs the nurse on ``on``: a merged region hands her to its successor
    with her caseload and co-financing municipalities unchanged (overgangsloven § 126: the new
    region takes over the staff)."""
    region = session.get(Organisation, nurse.region_id)
    if region is None:
        raise NotFound("no such region")
    return successor_on(session, region, on)


def members_of(session: Session, group_id: int, on: date) -> list[Organisation]:
    """The organisations that belong to a region or health council on ``on``, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .join(OrganisationMembership, OrganisationMembership.organisation_id == Organisation.id)
            .where(
                OrganisationMembership.group_id == group_id,
                valid_on(OrganisationMembership.valid_from, OrganisationMembership.valid_to, on),
            )
            .order_by(Organisation.name, Organisation.id)
        )
    )


def require_open(org: Organisation, on: date, field: str) -> None:
    """Refuse an organisation that is closed (or not yet open) on ``on``, naming the field."""
    if not is_valid_on(org, on):
        hint = f"; its successor is organisation {org.successor_id}" if org.successor_id else ""
        raise RuleViolation(f"the organisation is not open on {on.isoformat()}{hint}", field=field)
