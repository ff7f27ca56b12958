"""A region's own rules, effective from a date: extra closed days and gap-rule thresholds.

Regions differ in their agreements. The rules in force for a patient are those of the region
the patient's municipality belongs to on the day asked about, so from 2027-01-01 Region
Østdanmark's one set replaces the two sets of Hovedstaden and Sjælland without any move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.calendar import CLOSABLE_DAYS, DEFAULT_CALENDAR, WorkingDayCalendar
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.registry.effective import region_of
from bridge.domain.registry.models import Organisation, OrganisationKind, RegionRules, Role

THRESHOLDS = (
    "gp_ack_working_days",
    "meeting_request_working_days",
    "discharge_follow_up_working_days",
)


@dataclass(frozen=True)
class RegionSettings:
    """The rules of one region in force on a day, as the scan and the deadlines use them."""

    region_id: int
    calendar: WorkingDayCalendar
    gp_ack_working_days: int | None = None
    meeting_request_working_days: int | None = None
    discharge_follow_up_working_days: int | None = None


def _settings(row: RegionRules) -> RegionSettings:
    return RegionSettings(
        region_id=row.region_id,
        calendar=WorkingDayCalendar(frozenset(row.closed_day_names)),
        **{name: getattr(row, name) for name in THRESHOLDS},
    )


def settings_in_force(session: Session, on: date) -> dict[int, RegionSettings]:
    """Every region's rules in force on ``on``, by region id; one query (the table is small:
    a few rows per region)."""
    rows = session.scalars(
        select(RegionRules)
        .where(RegionRules.valid_from <= on)
        .order_by(RegionRules.region_id, RegionRules.valid_from)
    ).all()
    latest: dict[int, RegionRules] = {}
    for row in rows:
        latest[row.region_id] = row
    return {region_id: _settings(row) for region_id, row in latest.items()}


def calendar_for(session: Session, organisation_id: int, on: date) -> WorkingDayCalendar:
    """The working-day calendar of the region an organisation (e.g. a patient's municipality)
    belongs to on ``on``: the national one plus the region's extra closed days."""
    region = region_of(session, organisation_id, on)
    if region is None:
        return DEFAULT_CALENDAR
    row = session.scalar(
        select(RegionRules)
        .where(RegionRules.region_id == region.id, RegionRules.valid_from <= on)
        .order_by(RegionRules.valid_from.desc())
        .limit(1)
    )
    return DEFAULT_CALENDAR if row is None else _settings(row).calendar


def _region(session: Session, region_id: int) -> Organisation:
    region = session.get(Organisation, region_id)
    if region is None or region.kind != OrganisationKind.REGION:
        raise NotFound("no such region")
    return region


def add_region_rules(
    session: Session, p: Principal, region_id: int, data: dict[str, Any]
) -> RegionRules:
    """Record a region's rules from a date (admin); one set per region and date (409)."""
    p.require(Role.ADMIN)
    region = _region(session, region_id)
    names = list(data.get("closed_days") or [])
    unknown = sorted(set(names) - CLOSABLE_DAYS.keys())
    if unknown:
        allowed = ", ".join(sorted(CLOSABLE_DAYS))
        raise RuleViolation(
            f"unknown closed day(s) {unknown}; allowed: {allowed}", field="closed_days"
        )
    if region.valid_to is not None and data["valid_from"] > region.valid_to:
        raise RuleViolation(
            f"the region closes on {region.valid_to.isoformat()}; give the rules to its successor",
            field="valid_from",
        )
    row = RegionRules(
        region_id=region.id,
        valid_from=data["valid_from"],
        closed_days=",".join(sorted(set(names))),
        created_by_id=p.staff_id,
        **{name: data.get(name) for name in THRESHOLDS},
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("the region already has rules from that date") from None
    return row


def list_region_rules(session: Session, region_id: int) -> list[RegionRules]:
    """A region's rules, oldest first."""
    _region(session, region_id)
    return list(
        session.scalars(
            select(RegionRules)
            .where(RegionRules.region_id == region_id)
            .order_by(RegionRules.valid_from)
        )
    )


def list_regions(session: Session, p: Principal) -> list[Organisation]:
    """Every region, closed ones too (their rules are history), by name (admin)."""
    p.require(Role.ADMIN)
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.REGION)
            .order_by(Organisation.name)
        )
    )


def region_for_rules(session: Session, p: Principal, region_id: int) -> Organisation:
    """A region whose rules an admin reads or changes."""
    p.require(Role.ADMIN)
    return _region(session, region_id)
