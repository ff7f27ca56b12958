"""Pure rules of admissions, plans and follow-up: no database, no clock of their own."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bridge.domain.calendar import DEFAULT_CALENDAR, WorkingDayCalendar, deadline_in_hours
from bridge.domain.care.models import Destination, FollowUpCondition, StatutoryPlanKind
from bridge.domain.errors import RuleViolation
from bridge.domain.patients.models import ConsentScope
from bridge.domain.registry.models import OrganisationKind, Specialty

# Clocks of hospital systems and ours differ a little; more than this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
KIP_REVIEW_MONTHS = 6
HOME_DESTINATIONS = frozenset({Destination.HOME, Destination.HOUSING_FACILITY})


def check_not_future(moment: datetime, now: datetime, field: str) -> None:
    """Admissions and discharges are registered once they happened."""
    if moment > now + CLOCK_SKEW:
        raise RuleViolation(f"{field} cannot be in the future", field=field)


def check_discharge_time(admitted_at: datetime, discharged_at: datetime) -> None:
    """A stay cannot end before it began."""
    if discharged_at < admitted_at:
        raise RuleViolation("the discharge is before the admission", field="discharged_at")


def generates_follow_up(destination: Destination) -> bool:
    """Whether a discharge to ``destination`` starts a follow-up plan.

    A transfer continues the stay elsewhere (the plan follows the final discharge); a death
    leaves nothing to follow up.
    """
    return destination in HOME_DESTINATIONS


def condition_met(
    condition: FollowUpCondition,
    *,
    destination: Destination,
    rehabilitation_plan_issued: bool,
    network_meeting_requested: bool,
) -> bool:
    """Whether a template's condition holds for a discharge."""
    if condition == FollowUpCondition.ALWAYS:
        return True
    if condition == FollowUpCondition.DISCHARGE_HOME:
        # A housing facility (botilbud) is where the resident lives: it counts as home.
        return destination in HOME_DESTINATIONS
    if condition == FollowUpCondition.REHABILITATION_PLAN_ISSUED:
        return rehabilitation_plan_issued
    return network_meeting_requested


def task_deadline(
    discharged_at: datetime,
    *,
    working_days: int | None,
    hours: int | None,
    calendar: WorkingDayCalendar = DEFAULT_CALENDAR,
) -> datetime:
    """End of the N-th Copenhagen working day after discharge, or plain elapsed hours."""
    if hours is not None:
        return deadline_in_hours(discharged_at, hours)
    if working_days is None:
        raise ValueError("a deadline needs working days or hours")
    return calendar.deadline_after(discharged_at, working_days)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clipped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def check_statutory_plan(
    *,
    kind: StatutoryPlanKind,
    specialty: Specialty,
    patient_took_part: bool,
    agreed_on: date,
    next_review_date: date | None,
    efforts: int,
) -> None:
    """The conditions psykiatriloven §§ 13 a-b and the KIP guidance put on a plan."""
    if specialty != Specialty.PSYCHIATRY:
        raise RuleViolation("statutory plans belong to psychiatric admissions", field="kind")
    if kind == StatutoryPlanKind.KOORDINATIONSPLAN and patient_took_part:
        raise RuleViolation(
            "a koordinationsplan is made when the patient does not take part; "
            "with the patient it is an udskrivningsaftale",
            field="patient_took_part",
        )
    if kind == StatutoryPlanKind.UDSKRIVNINGSAFTALE and not patient_took_part:
        raise RuleViolation(
            "an udskrivningsaftale is agreed with the patient; without them it is a "
            "koordinationsplan",
            field="patient_took_part",
        )
    if next_review_date is not None and next_review_date < agreed_on:
        raise RuleViolation("the next review cannot be before the plan", field="next_review_date")
    if kind == StatutoryPlanKind.KIP:
        if next_review_date is None:
            raise RuleViolation("a KIP needs its next review date", field="next_review_date")
        if next_review_date > add_months(agreed_on, KIP_REVIEW_MONTHS):
            raise RuleViolation(
                "a KIP is reviewed at most 6 months after it was agreed", field="next_review_date"
            )
        if efforts < 1:
            raise RuleViolation("a KIP names at least one effort with its owner", field="efforts")


# --- who may be told of a discharge -------------------------------------------------------------

#: Treating health care: told of a discharge on the statutory basis (sundhedsloven §41-43).
STATUTORY_DISCHARGE_KINDS = frozenset(
    {
        OrganisationKind.REGION,
        OrganisationKind.HOSPITAL,
        OrganisationKind.HOSPITAL_DEPARTMENT,
        OrganisationKind.GP_PRACTICE,
        OrganisationKind.SPECIALIST_PRACTICE,
    }
)
_SCOPES_COVERING_DISCHARGE = frozenset({ConsentScope.DISCHARGE, ConsentScope.ALL})


@dataclass(frozen=True)
class DischargeConsent:
    """The facts of one consent that matter for telling a recipient of a discharge."""

    scope: ConsentScope
    active: bool
    organisation_id: int | None = None
    kind: OrganisationKind | None = None


def may_notify_of_discharge(
    *,
    organisation_id: int,
    kind: OrganisationKind,
    residence_municipality_id: int,
    consents: list[DischargeConsent],
) -> bool:
    """Whether an organisation may be told of a discharge and the tasks it is given.

    Treating health care needs no consent; nor does the patient's own municipality, which the
    health agreement makes responsible for the care after discharge (rehabilitation, home care,
    the first contact). Anyone else (a social psychiatry facility, another municipality) only
    with an active consent of scope ``discharge`` or ``all`` naming it or its kind.
    """
    if kind in STATUTORY_DISCHARGE_KINDS or organisation_id == residence_municipality_id:
        return True
    return any(
        c.active
        and c.scope in _SCOPES_COVERING_DISCHARGE
        and (c.organisation_id == organisation_id or c.kind == kind)
        for c in consents
    )
