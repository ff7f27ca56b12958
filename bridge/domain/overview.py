"""The overview that shows whether the bridge holds: counts per month for a region or a health
council (its municipalities), for the people who run them. Counts only, no patient data.

Set-based: five queries whatever the size. The period is a small table of days (at most
``MAX_MONTHS`` months) carrying each Copenhagen day's start and end in UTC and the deadline of
"2 working days" for an event on that day (the national calendar plus the region's own closed
days), so the SQL needs no time zones and no calendar of its own, and runs the same on SQLite.
Each query reads the index range of its events' timestamps in the period, then looks the
patient's municipality up in the group's membership valid on the event's day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Float,
    FromClause,
    Interval,
    String,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal,
    select,
    text,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.base import read_by_id
from bridge.domain.calendar import COPENHAGEN, WorkingDayCalendar
from bridge.domain.care.models import Admission, FollowUpStatus, FollowUpTask, ResponsibleKind
from bridge.domain.care.rules import HOME_DESTINATIONS
from bridge.domain.errors import Forbidden, NotFound, RuleViolation
from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.domain.meetings.models import (
    Distribution,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    RecipientRole,
)
from bridge.domain.patients.models import Patient
from bridge.domain.registry.effective import group_of, valid_on
from bridge.domain.registry.models import (
    Organisation,
    OrganisationKind,
    OrganisationMembership,
    Role,
)
from bridge.domain.registry.region_rules import settings_in_force

MAX_MONTHS = 24
GP_ACK_WORKING_DAYS = 2
NURSE_CONTACT_HOURS = 72


@dataclass
class MonthFigures:
    month: str  # YYYY-MM
    minutes_final: int = 0
    minutes_acknowledged_in_time: int = 0
    median_hours_to_acknowledgement: float | None = None
    follow_ups_due: int = 0
    follow_ups_done_in_time: int = 0
    discharges: int = 0
    discharges_with_nurse_contact: int = 0
    flags_opened_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def share_acknowledged_in_time(self) -> float | None:
        return _share(self.minutes_acknowledged_in_time, self.minutes_final)

    @property
    def share_follow_ups_in_time(self) -> float | None:
        return _share(self.follow_ups_done_in_time, self.follow_ups_due)

    @property
    def share_discharges_with_contact(self) -> float | None:
        return _share(self.discharges_with_nurse_contact, self.discharges)


@dataclass
class Overview:
    organisation: Organisation
    months: list[MonthFigures]
    open_flags_by_rule: dict[str, int]
    #: When the figures were counted (the rollup's run); None when counted for this request.
    as_of: datetime | None = None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def parse_month(value: str, name: str) -> date:
    """``YYYY-MM`` to the month's first day, or a 422 naming the field."""
    try:
        year, month = (int(x) for x in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise RuleViolation("must be a month like 2027-01", field=name) from None


def next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def month_key(d: date) -> str:
    """``YYYY-MM`` of ``d``'s month."""
    return f"{d.year:04d}-{d.month:02d}"


def months_before(d: date, n: int) -> date:
    """The first day of the month ``n`` months before ``d``'s."""
    year, month = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(year, month + 1, 1)


def _start_utc(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=COPENHAGEN).astimezone(UTC)


def _days_table(first: date, end: date, calendar: WorkingDayCalendar, postgres: bool) -> FromClause:
    rows = []
    d = first
    while d < end:
        start = _start_utc(d)
        rows.append(
            (
                d,
                start,
                _start_utc(d + timedelta(days=1)),
                calendar.deadline_after(start, GP_ACK_WORKING_DAYS),
                f"{d.year:04d}-{d.month:02d}",
            )
        )
        d += timedelta(days=1)
    if postgres:
        # Five array parameters rather than a VALUES row per day: a year of days as VALUES
        # costs more to compile in Python than the queries take to run.
        days, starts, stops, deadlines, months = (list(c) for c in zip(*rows, strict=True))
        stamp = ARRAY(DateTime(timezone=True))
        return (
            func.unnest(
                bindparam("days_day", days, type_=ARRAY(Date)),
                bindparam("days_start", starts, type_=stamp),
                bindparam("days_end", stops, type_=stamp),
                bindparam("days_deadline", deadlines, type_=stamp),
                bindparam("days_month", months, type_=ARRAY(String)),
            )
            .table_valued(
                column("day", Date),
                column("day_start", DateTime(timezone=True)),
                column("day_end", DateTime(timezone=True)),
                column("ack_deadline", DateTime(timezone=True)),
                column("month", String),
            )
            .render_derived(name="days")
        )
    return (
        values(
            column("day", Date),
            column("day_start", DateTime(timezone=True)),
            column("day_end", DateTime(timezone=True)),
            column("ack_deadline", DateTime(timezone=True)),
            column("month", String),
            name="days",
        )
        .data(rows)
        # A CTE rather than a VALUES in FROM: SQLite (the demo) has no column list there.
        .cte("days")
    )


def _check_access(session: Session, p: Principal, org: Organisation) -> None:
    """Admins, and the staff of the region or council itself (or of a council's region)."""
    if p.has(Role.ADMIN) or p.organisation_id == org.id:
        return
    if org.kind == OrganisationKind.HEALTH_COUNCIL and p.organisation_id == org.parent_id:
        return
    raise Forbidden("only the region's or council's own staff and admins see its overview")


def checked_request(
    session: Session, p: Principal, org_id: int, first: date, last: date
) -> tuple[Organisation, date]:
    """The region or council asked for, if the caller may see it, and the end of the period
    (the month after ``last``); 404, 403 or 422 otherwise."""
    org = read_by_id(session, Organisation, org_id)
    if org is None or org.kind not in (OrganisationKind.REGION, OrganisationKind.HEALTH_COUNCIL):
        raise NotFound("no such region or health council")
    _check_access(session, p, org)
    if last < first:
        raise RuleViolation("to is before from", field="to")
    end = next_month(last)
    if (end.year - first.year) * 12 + end.month - first.month > MAX_MONTHS:
        raise RuleViolation(f"at most {MAX_MONTHS} months at a time", field="to")
    return org, end


def overview(
    session: Session, p: Principal, org_id: int, first: date, last: date, today: date
) -> Overview:
    """The figures per month from ``first`` to ``last`` (months) for a region or council,
    counted now."""
    org, end = checked_request(session, p, org_id, first, last)
    months, open_now = compute_figures(session, org, first, end, today)
    return Overview(organisation=org, months=months, open_flags_by_rule=open_now)


def compute_figures(
    session: Session, org: Organisation, first: date, end: date, today: date
) -> tuple[list[MonthFigures], dict[str, int]]:
    """Count the group's months from ``first`` up to ``end`` (exclusive), and its open flags:
    five set-based queries, whatever the size."""
    region = (
        org
        if org.kind == OrganisationKind.REGION
        else group_of(session, org.id, OrganisationKind.REGION, today)
    )
    settings = settings_in_force(session, today).get(region.id) if region else None
    calendar = settings.calendar if settings else WorkingDayCalendar()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The planner cannot see how few events a day has and so over-estimates these
        # queries; JIT compiling them then costs more than running them (80 of 150 ms).
        session.execute(text("SET LOCAL jit = off"))
    days = _days_table(first, end, calendar, postgres)
    months = {}
    m = first
    while m < end:
        months[month_key(m)] = MonthFigures(month=month_key(m))
        m = next_month(m)

    def member(patient_municipality: Any, day: Any) -> ColumnElement[bool]:
        return exists().where(
            OrganisationMembership.organisation_id == patient_municipality,
            OrganisationMembership.group_id == org.id,
            valid_on(OrganisationMembership.valid_from, OrganisationMembership.valid_to, day),
        )

    def in_day(ts: Any) -> ColumnElement[bool]:
        return and_(ts >= days.c.day_start, ts < days.c.day_end)

    # 1. Final minutes, acknowledged by the patient's GP within 2 working days, median time.
    gp = (
        select(Distribution.minutes_version_id, Distribution.acknowledged_at)
        .where(Distribution.recipient_role == RecipientRole.GP)
        .subquery()
    )
    in_time = and_(gp.c.acknowledged_at.is_not(None), gp.c.acknowledged_at <= days.c.ack_deadline)
    cols = [
        days.c.month,
        func.count(),
        func.sum(case((in_time, 1), else_=0)),
    ]
    if postgres:
        hours = func.extract("epoch", gp.c.acknowledged_at - MinutesVersion.finalised_at) / 3600
        cols.append(func.percentile_cont(0.5).within_group(hours))
    else:
        cols.append(literal(None, Float))
    stmt = (
        select(*cols)
        .select_from(days)
        .join(MinutesVersion, in_day(MinutesVersion.finalised_at))
        .join(NetworkMeeting, NetworkMeeting.id == MinutesVersion.meeting_id)
        .join(Patient, Patient.id == NetworkMeeting.patient_id)
        .outerjoin(gp, gp.c.minutes_version_id == MinutesVersion.id)
        .where(
            MinutesVersion.status == MinutesStatus.FINAL,
            member(Patient.municipality_id, days.c.day),
        )
        .group_by(days.c.month)
    )
    for month, total, acked, median in session.execute(stmt):
        row = months[month]
        row.minutes_final, row.minutes_acknowledged_in_time = total, int(acked or 0)
        row.median_hours_to_acknowledgement = None if median is None else round(float(median), 1)

    # 2. Follow-up tasks due in the month, done by their deadline (cancelled ones left out).
    done_in_time = and_(
        FollowUpTask.status == FollowUpStatus.DONE, FollowUpTask.done_at <= FollowUpTask.due_at
    )
    stmt = (
        select(days.c.month, func.count(), func.sum(case((done_in_time, 1), else_=0)))
        .select_from(days)
        .join(FollowUpTask, in_day(FollowUpTask.due_at))
        .join(Patient, Patient.id == FollowUpTask.patient_id)
        .where(
            FollowUpTask.status != FollowUpStatus.CANCELLED,
            member(Patient.municipality_id, days.c.day),
        )
        .group_by(days.c.month)
    )
    for month, total, done in session.execute(stmt):
        months[month].follow_ups_due, months[month].follow_ups_done_in_time = total, int(done or 0)

    # 3. Discharges home, with the nurse's contact (her task done) within 72 hours.
    if postgres:
        within = FollowUpTask.done_at <= Admission.discharged_at + literal(
            timedelta(hours=NURSE_CONTACT_HOURS), Interval()
        )
    else:
        within = (
            func.julianday(FollowUpTask.done_at) - func.julianday(Admission.discharged_at)
        ) * 24 <= NURSE_CONTACT_HOURS
    contact = exists().where(
        FollowUpTask.admission_id == Admission.id,
        FollowUpTask.responsible_kind == ResponsibleKind.NURSE,
        FollowUpTask.status == FollowUpStatus.DONE,
        within,
    )
    stmt = (
        select(days.c.month, func.count(), func.sum(case((contact, 1), else_=0)))
        .select_from(days)
        .join(Admission, in_day(Admission.discharged_at))
        .join(Patient, Patient.id == Admission.patient_id)
        .where(
            Admission.destination.in_(sorted(HOME_DESTINATIONS)),
            member(Patient.municipality_id, days.c.day),
        )
        .group_by(days.c.month)
    )
    for month, total, with_contact in session.execute(stmt):
        row = months[month]
        row.discharges, row.discharges_with_nurse_contact = total, int(with_contact or 0)

    # 4. Flags opened in the month, by rule.
    stmt = (
        select(days.c.month, Flag.rule, func.count())
        .select_from(days)
        .join(Flag, in_day(Flag.first_detected_at))
        .join(Patient, Patient.id == Flag.patient_id)
        .where(member(Patient.municipality_id, days.c.day))
        .group_by(days.c.month, Flag.rule)
    )
    for month, rule, n in session.execute(stmt):
        months[month].flags_opened_by_rule[rule] = n

    # 5. Flags open now, by rule, for the group's patients of today.
    stmt = (
        select(Flag.rule, func.count())
        .join(Patient, Patient.id == Flag.patient_id)
        .where(
            Flag.status != FlagStatus.RESOLVED,
            member(Patient.municipality_id, literal(today, Date)),
        )
        .group_by(Flag.rule)
    )
    open_now: dict[str, int] = defaultdict(int)
    for rule, n in session.execute(stmt):
        open_now[rule] = n
    return list(months.values()), dict(open_now)


CSV_COLUMNS = (
    "month",
    "minutes_final",
    "minutes_acknowledged_in_time",
    "share_acknowledged_in_time",
    "median_hours_to_acknowledgement",
    "follow_ups_due",
    "follow_ups_done_in_time",
    "share_follow_ups_in_time",
    "discharges",
    "discharges_with_nurse_contact",
    "share_discharges_with_contact",
    "flags_opened",
)


def csv_rows(result: Overview) -> list[list[str]]:
    """The overview as CSV rows (header first); flags opened as ``rule=n`` pairs."""
    out = [list(CSV_COLUMNS)]
    for m in result.months:
        flags = ";".join(f"{k}={v}" for k, v in sorted(m.flags_opened_by_rule.items()))
        out.append(
            [
                "" if (v := getattr(m, c)) is None else str(v)
                for c in CSV_COLUMNS
                if c != "flags_opened"
            ]
            + [flags]
        )
    return out
