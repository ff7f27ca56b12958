"""The overview's figures kept per group and month, so that reading them costs the same whatever
the number of patients.

Counting a year of events for a region reads every event of that year (a third of a second at
100,000 patients, and growing with them), while the people who run a council look at monthly
figures: a scheduled job (``overview_rollup``) counts each region's and council's last
``MAX_MONTHS`` months once per interval with the same set-based queries as a live overview, and
the overview reads those rows. A month the rollup does not hold (before its first run, or older
than its window) is counted live, so the figures are always there; ``as_of`` says how fresh.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, bindparam, delete, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bridge.domain.access import Principal
from bridge.domain.base import Base, UTCDateTime
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.overview import (
    MAX_MONTHS,
    MonthFigures,
    Overview,
    checked_request,
    compute_figures,
    month_key,
    months_before,
    next_month,
)
from bridge.domain.registry.models import Organisation, OrganisationKind


class OverviewMonth(Base):
    """One group's figures for one month, as the last rollup counted them."""

    __tablename__ = "overview_month"

    group_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OverviewGroup(Base):
    """One group's flags open at the last rollup, by rule."""

    __tablename__ = "overview_group"

    group_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    open_flags: Mapped[dict[str, int]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


def refresh_overview(session: Session, now: datetime) -> dict[str, int]:
    """Count every region's and council's last ``MAX_MONTHS`` months again (the job).

    A fixed number of statements per group (the overview's queries and two writes); groups are
    the 5 regions and 17 councils, not patients."""
    today = now.astimezone(COPENHAGEN).date()
    current = today.replace(day=1)
    first = months_before(current, MAX_MONTHS - 1)
    groups = session.scalars(
        select(Organisation)
        .where(
            Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.HEALTH_COUNCIL]),
            # Groups that exist at some time in the window or later (the councils of 2027 are
            # asked about before they begin; their members count from the day they join).
            or_(Organisation.valid_to.is_(None), Organisation.valid_to >= first),
        )
        .order_by(Organisation.id)
    ).all()
    months = 0
    for group in groups:
        figures, open_now = compute_figures(session, group, first, next_month(current), today)
        session.execute(delete(OverviewMonth).where(OverviewMonth.group_id == group.id))
        session.execute(delete(OverviewGroup).where(OverviewGroup.group_id == group.id))
        session.execute(
            insert(OverviewMonth),
            [
                {
                    "group_id": group.id,
                    "month": date.fromisoformat(f"{m.month}-01"),
                    "figures": asdict(m),
                    "computed_at": now,
                }
                for m in figures
            ],
        )
        session.execute(
            insert(OverviewGroup),
            [{"group_id": group.id, "open_flags": open_now, "computed_at": now}],
        )
        months += len(figures)
    return {"groups": len(groups), "months": months}


_STORED_GROUP = select(OverviewGroup.open_flags, OverviewGroup.computed_at).where(
    OverviewGroup.group_id == bindparam("group_id")
)
_STORED_MONTHS = select(OverviewMonth.month, OverviewMonth.figures).where(
    OverviewMonth.group_id == bindparam("group_id"),
    OverviewMonth.month >= bindparam("first"),
    OverviewMonth.month < bindparam("end"),
)


def stored_figures(
    session: Session, group_id: int, first: date, end: date, today: date
) -> tuple[list[MonthFigures], dict[str, int], datetime] | None:
    """The rollup's figures for the months from ``first`` up to ``end`` (exclusive), or None when
    it does not hold all of them. Months after the current one have no events yet: zeros."""
    current = today.replace(day=1)
    stored_end = min(end, next_month(current))
    # Rows, not entities, by statements built once: this is the overview's every request.
    connection = session.connection()
    group = connection.execute(_STORED_GROUP, {"group_id": group_id}).first()
    if group is None:
        return None
    rows = {
        row.month: row
        for row in connection.execute(
            _STORED_MONTHS, {"group_id": group_id, "first": first, "end": stored_end}
        )
    }
    out: list[MonthFigures] = []
    m = first
    while m < end:
        if m < stored_end:
            row = rows.get(m)
            if row is None:
                return None
            out.append(MonthFigures(**row.figures))
        else:
            out.append(MonthFigures(month=month_key(m)))
        m = next_month(m)
    return out, dict(group.open_flags), group.computed_at


def read_overview(
    session: Session, p: Principal, org_id: int, first: date, last: date, today: date
) -> Overview:
    """The overview a region or council asks for: from the rollup when it holds every month
    asked for, else counted now."""
    org, end = checked_request(session, p, org_id, first, last)
    stored = stored_figures(session, org.id, first, end, today)
    if stored is None:
        months, open_now = compute_figures(session, org, first, end, today)
        return Overview(organisation=org, months=months, open_flags_by_rule=open_now)
    months, open_now, computed_at = stored
    return Overview(organisation=org, months=months, open_flags_by_rule=open_now, as_of=computed_at)
