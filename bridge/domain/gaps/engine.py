"""Runs gap rules set-based: per rule one upsert of what is detected and one update resolving what
is no longer detected, so a scan's statement count never grows with the data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.dml import Update

from bridge.domain.base import affected_rows
from bridge.domain.calendar import COPENHAGEN, DEFAULT_CALENDAR, WorkingDayCalendar
from bridge.domain.care.queries import READMISSION_DAYS
from bridge.domain.gaps.models import Flag, FlagStatus
from bridge.domain.patients.models import Patient
from bridge.domain.registry.effective import valid_on
from bridge.domain.registry.models import Organisation, OrganisationKind, OrganisationMembership
from bridge.domain.registry.region_rules import RegionSettings, settings_in_force


@dataclass(frozen=True)
class GapConfig:
    """Thresholds of the rules (local agreements, so configurable)."""

    gp_ack_working_days: int = 2
    minutes_finalise_working_days: int = 3
    meeting_interval_days: int = 90
    screening_months: int = 12
    readmission_days: int = READMISSION_DAYS
    meeting_request_working_days: int = 5
    # A readmission is worth the nurse's attention while it is recent; older ones age out.
    readmission_flag_days: int = 30


@dataclass(frozen=True)
class ScanContext:
    now: datetime
    config: GapConfig = field(default_factory=GapConfig)
    calendar: WorkingDayCalendar = DEFAULT_CALENDAR
    # For the few queries whose SQL differs between PostgreSQL and SQLite (the demo).
    dialect: str = "postgresql"
    # Each region's own rules in force today (registry.region_rules), by region id.
    regions: Mapping[int, RegionSettings] = field(default_factory=dict)

    def region_cutoff(self, patient_id: Any, threshold: str, default_days: int) -> Any:
        """The working-day cutoff for ``threshold`` of the patient's region today: a region's
        own threshold and closed days where it has them, ``default_days`` and the national
        calendar elsewhere. Still one query: a CASE on the region, read by a correlated
        lookup of the patient's municipality's membership."""
        default = self.working_day_cutoff(default_days)
        cutoffs = {}
        for region_id, settings in self.regions.items():
            days = getattr(settings, threshold) or default_days
            cutoff = self.working_day_cutoff(days, settings.calendar)
            if cutoff != default:
                cutoffs[region_id] = cutoff
        if not cutoffs:
            return default
        return case(cutoffs, value=patient_region_today(patient_id, self.today), else_=default)

    @property
    def today(self) -> date:
        """The Copenhagen calendar date of ``now``: due dates are Danish dates."""
        return self.now.astimezone(COPENHAGEN).date()

    def working_day_cutoff(
        self, working_days: int, calendar: WorkingDayCalendar | None = None
    ) -> datetime:
        """Events strictly before this instant are more than ``working_days`` working days old.

        The deadline of an event depends only on its Copenhagen date, so the cutoff is the start
        of the day after the last date whose deadline has passed.
        """
        day = self.now.astimezone(COPENHAGEN).date()
        for _ in range(400):
            if (calendar or self.calendar).deadline_after(_start_of(day), working_days) <= self.now:
                return _start_of(day + timedelta(days=1))
            day -= timedelta(days=1)
        raise AssertionError("no cutoff within 400 days")  # unreachable with a sane calendar


def patient_region_today(patient_id: Any, today: date) -> Any:
    """SQL: the id of the region the patient's municipality belongs to on ``today``."""
    patient = aliased(Patient)
    member = aliased(OrganisationMembership)
    region = aliased(Organisation)
    return (
        select(member.group_id)
        .join(region, region.id == member.group_id)
        .join(patient, patient.municipality_id == member.organisation_id)
        .where(
            patient.id == patient_id,
            region.kind == OrganisationKind.REGION,
            valid_on(member.valid_from, member.valid_to, today),
        )
        .limit(1)
        .scalar_subquery()
    )


def _start_of(day: Any) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN)


@dataclass(frozen=True)
class GapRule:
    name: str
    severity: int  # 3 high, 2 medium, 1 low
    detect: Callable[[ScanContext], Select]
    description: str


#: The rules a scan applies, by name: filled by ``register_rules`` (see bridge/bootstrap.py).
RULES: dict[str, GapRule] = {}


def gap_rule(name: str, severity: int) -> Callable[[Callable[[ScanContext], Select]], GapRule]:
    """Make a detection query a rule; its docstring documents rule and threshold."""

    def make(fn: Callable[[ScanContext], Select]) -> GapRule:
        return GapRule(name, severity, fn, (fn.__doc__ or "").strip())

    return make


def register_rules(rules: Iterable[GapRule]) -> None:
    """Have every scan apply ``rules`` (a rule of the same name is replaced)."""
    RULES.update((rule.name, rule) for rule in rules)


def detection(
    *,
    patient_id: Any,
    subject_type: str,
    subject_id: Any,
    message_da: str,
    message_en: str,
    nurse_id: Any = None,
) -> Select:
    """A detection query's SELECT of its labelled columns, one row per gap; the rule adds its
    FROM, joins and conditions."""
    return select(
        (patient_id if patient_id is not None else cast(null(), Integer)).label("patient_id"),
        (nurse_id if nurse_id is not None else cast(null(), Integer)).label("nurse_id"),
        literal(subject_type).label("subject_type"),
        subject_id.label("subject_id"),
        literal(message_da).label("message_da"),
        literal(message_en).label("message_en"),
    )


@dataclass(frozen=True)
class RuleOutcome:
    opened: int
    still_open: int
    resolved: int


def _insert_for(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def apply_rule(session: Session, rule: GapRule, ctx: ScanContext) -> RuleOutcome:
    """Open or refresh a flag for each detected gap and resolve flags whose gap has closed."""
    now = ctx.now
    detected = rule.detect(ctx).subquery(f"detected_{rule.name}")
    live = Flag.status != FlagStatus.RESOLVED.value
    source = select(
        literal(rule.name),
        detected.c.patient_id,
        detected.c.nurse_id,
        detected.c.subject_type,
        detected.c.subject_id,
        literal(rule.severity),
        detected.c.message_da,
        detected.c.message_en,
        literal(FlagStatus.OPEN.value),
        literal(now),
        literal(now),
        literal(1),
    ).where(true())  # SQLite needs a WHERE to parse INSERT ... SELECT ... ON CONFLICT
    wake = and_(Flag.status == FlagStatus.SNOOZED.value, Flag.snoozed_until <= now)
    stmt = (
        _insert_for(session)(Flag)
        .from_select(
            [
                "rule",
                "patient_id",
                "nurse_id",
                "subject_type",
                "subject_id",
                "severity",
                "message_da",
                "message_en",
                "status",
                "first_detected_at",
                "last_seen_at",
                "version",
            ],
            source,
        )
        .on_conflict_do_update(
            index_elements=["rule", "subject_type", "subject_id"],
            index_where=live,
            set_={
                "last_seen_at": now,
                # A snooze ends when its time is up and the gap is still there.
                "status": case((wake, FlagStatus.OPEN.value), else_=Flag.status),
                "version": case((wake, Flag.version + 1), else_=Flag.version),
            },
        )
    )
    if ctx.dialect == "postgresql":
        # One statement, the detection run once: the upsert's RETURNING names every flag the
        # scan found; the resolve, in the same statement and snapshot, closes the rule's other
        # live flags (it cannot see the rows the upsert adds, and leaves alone those it names).
        upserted = stmt.returning(Flag.id, Flag.first_detected_at).cte(f"upserted_{rule.name}")
        closed = (
            _resolve(rule, now, ~exists().where(upserted.c.id == Flag.id))
            .returning(Flag.id)
            .cte(f"resolved_{rule.name}")
        )
        found, opened, resolved = session.execute(
            select(
                select(func.count()).select_from(upserted).scalar_subquery(),
                select(func.count())
                .select_from(upserted)
                .where(upserted.c.first_detected_at == now)
                .scalar_subquery(),
                select(func.count()).select_from(closed).scalar_subquery(),
            )
        ).one()
        return RuleOutcome(opened=opened, still_open=found - opened, resolved=resolved)
    # SQLite (the demo) has no data-modifying WITH: upsert, then resolve by detecting again.
    firsts = session.execute(stmt.returning(Flag.first_detected_at)).scalars().all()
    opened = sum(1 for first in firsts if first == now)
    still = rule.detect(ctx).subquery(f"still_{rule.name}")
    gone = ~exists().where(
        still.c.subject_type == Flag.subject_type, still.c.subject_id == Flag.subject_id
    )
    resolved = affected_rows(
        session.execute(_resolve(rule, now, gone).execution_options(synchronize_session=False))
    )
    return RuleOutcome(opened=opened, still_open=len(firsts) - opened, resolved=resolved)


def _resolve(rule: GapRule, now: datetime, gone: ColumnElement[bool]) -> Update:
    """Resolve the rule's live flags whose gap is ``gone``."""
    return (
        update(Flag)
        .where(Flag.rule == rule.name, Flag.status != FlagStatus.RESOLVED.value, gone)
        .values(
            status=FlagStatus.RESOLVED.value,
            resolved_at=now,
            resolution="closed automatically: the gap no longer holds",
            version=Flag.version + 1,
        )
    )


def run_gap_scan(
    session: Session,
    now: datetime,
    config: GapConfig | None = None,
    rules: list[str] | None = None,
) -> dict[str, Any]:
    """Apply every rule (or the named ones); return per-rule counts."""
    ctx = ScanContext(
        now=now,
        config=config or GapConfig(),
        dialect=session.get_bind().dialect.name,
        regions=settings_in_force(session, now.astimezone(COPENHAGEN).date()),
    )
    summary: dict[str, Any] = {}
    for name in rules or sorted(RULES):
        outcome = apply_rule(session, RULES[name], ctx)
        summary[name] = {
            "opened": outcome.opened,
            "still_open": outcome.still_open,
            "resolved": outcome.resolved,
        }
    return summary
