"""The pure rules of stays, statutory plans and follow-up deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bridge.domain.calendar import COPENHAGEN, WorkingDayCalendar
from bridge.domain.care import rules
from bridge.domain.care.models import Destination, FollowUpCondition, StatutoryPlanKind
from bridge.domain.errors import RuleViolation
from bridge.domain.registry.models import Specialty


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 1), 6, date(2026, 9, 1)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clips_to_the_end_of_the_month(start, months, expected):
    assert rules.add_months(start, months) == expected


def _plan(**overrides):
    args = {
        "kind": StatutoryPlanKind.KIP,
        "specialty": Specialty.PSYCHIATRY,
        "patient_took_part": True,
        "agreed_on": date(2026, 8, 31),
        "next_review_date": date(2027, 2, 28),
        "efforts": 1,
    }
    args.update(overrides)
    rules.check_statutory_plan(**args)


def test_kip_review_may_fall_on_the_last_day_of_the_sixth_month():
    _plan()
    with pytest.raises(RuleViolation) as exc:
        _plan(next_review_date=date(2027, 3, 1))
    assert exc.value.errors == {
        "next_review_date": ["a KIP is reviewed at most 6 months after it was agreed"]
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"next_review_date": None}, "next_review_date"),
        ({"efforts": 0}, "efforts"),
        ({"specialty": Specialty.SOMATIC}, "kind"),
        ({"kind": StatutoryPlanKind.KOORDINATIONSPLAN}, "patient_took_part"),
        (
            {"kind": StatutoryPlanKind.UDSKRIVNINGSAFTALE, "patient_took_part": False},
            "patient_took_part",
        ),
        ({"next_review_date": date(2026, 8, 30)}, "next_review_date"),
    ],
)
def test_statutory_plan_rules_name_the_field_at_fault(overrides, field):
    with pytest.raises(RuleViolation) as exc:
        _plan(**overrides)
    assert field in exc.value.errors


def test_koordinationsplan_without_the_patient_needs_no_review_date():
    _plan(
        kind=StatutoryPlanKind.KOORDINATIONSPLAN,
        patient_took_part=False,
        next_review_date=None,
        efforts=0,
    )


@pytest.mark.parametrize(
    ("condition", "destination", "rehab", "meeting", "expected"),
    [
        (FollowUpCondition.ALWAYS, Destination.HOME, False, False, True),
        (FollowUpCondition.DISCHARGE_HOME, Destination.HOUSING_FACILITY, False, False, True),
        (FollowUpCondition.DISCHARGE_HOME, Destination.OTHER_HOSPITAL, False, False, False),
        (FollowUpCondition.REHABILITATION_PLAN_ISSUED, Destination.HOME, False, True, False),
        (FollowUpCondition.REHABILITATION_PLAN_ISSUED, Destination.HOME, True, False, True),
        (FollowUpCondition.NETWORK_MEETING_REQUESTED, Destination.HOME, True, False, False),
        (FollowUpCondition.NETWORK_MEETING_REQUESTED, Destination.HOME, False, True, True),
    ],
)
def test_template_conditions(condition, destination, rehab, meeting, expected):
    assert (
        rules.condition_met(
            condition,
            destination=destination,
            rehabilitation_plan_issued=rehab,
            network_meeting_requested=meeting,
        )
        is expected
    )


def test_only_discharges_home_start_a_plan():
    assert rules.generates_follow_up(Destination.HOME)
    assert rules.generates_follow_up(Destination.HOUSING_FACILITY)
    assert not rules.generates_follow_up(Destination.OTHER_HOSPITAL)
    assert not rules.generates_follow_up(Destination.DECEASED)


def test_task_deadline_counts_from_the_copenhagen_date_not_the_utc_date():
    # 00:30 on Saturday in Copenhagen is still Friday in UTC; the Copenhagen date counts.
    saturday_early = datetime(2026, 11, 7, 0, 30, tzinfo=COPENHAGEN)
    assert saturday_early.astimezone(UTC).day == 6
    due = rules.task_deadline(saturday_early, working_days=1, hours=None)
    assert due == datetime(2026, 11, 10, 0, 0, tzinfo=COPENHAGEN)


def test_task_deadline_honours_a_regions_closed_christmas_eve():
    closed = WorkingDayCalendar(frozenset({"juleaften"}))
    moment = datetime(2025, 12, 23, 10, tzinfo=COPENHAGEN)
    assert rules.task_deadline(moment, working_days=1, hours=None, calendar=closed) == datetime(
        2025, 12, 30, 0, 0, tzinfo=COPENHAGEN
    )


def test_hours_deadlines_are_elapsed_time_across_the_autumn_change():
    # 25 October 2026: clocks go back, so 72 elapsed hours end at 09:00 wall clock, not 10:00.
    moment = datetime(2026, 10, 24, 10, tzinfo=COPENHAGEN)
    due = rules.task_deadline(moment, working_days=None, hours=72)
    assert due.astimezone(COPENHAGEN).replace(tzinfo=None) == datetime(2026, 10, 27, 9, 0)


def test_discharge_before_admission_and_future_times_are_refused():
    admitted = datetime(2026, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(RuleViolation):
        rules.check_discharge_time(admitted, datetime(2026, 3, 1, 9, tzinfo=UTC))
    rules.check_discharge_time(admitted, admitted)
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    rules.check_not_future(datetime(2026, 3, 1, 12, 4, tzinfo=UTC), now, "admitted_at")
    with pytest.raises(RuleViolation):
        rules.check_not_future(datetime(2026, 3, 1, 12, 6, tzinfo=UTC), now, "admitted_at")


# --- who may be told of a discharge -------------------------------------------------------------


def _may(kind, consents=(), org_id=5, residence=1):
    from bridge.domain.care.rules import may_notify_of_discharge

    return may_notify_of_discharge(
        organisation_id=org_id,
        kind=kind,
        residence_municipality_id=residence,
        consents=list(consents),
    )


def test_treating_health_care_and_the_home_municipality_are_told_without_consent():
    from bridge.domain.registry.models import OrganisationKind as K

    assert _may(K.GP_PRACTICE) and _may(K.HOSPITAL_DEPARTMENT) and _may(K.SPECIALIST_PRACTICE)
    assert _may(K.MUNICIPALITY, org_id=1, residence=1)
    assert not _may(K.MUNICIPALITY, org_id=2, residence=1)


def test_a_facility_needs_an_active_discharge_or_all_consent():
    from bridge.domain.care.rules import DischargeConsent
    from bridge.domain.patients.models import ConsentScope as Scope
    from bridge.domain.registry.models import OrganisationKind as K

    facility = K.SOCIAL_PSYCHIATRY_FACILITY
    assert not _may(facility)
    assert not _may(facility, [DischargeConsent(Scope.MINUTES, True, organisation_id=5)])
    assert not _may(facility, [DischargeConsent(Scope.DISCHARGE, False, organisation_id=5)])
    assert not _may(facility, [DischargeConsent(Scope.DISCHARGE, True, organisation_id=6)])
    assert _may(facility, [DischargeConsent(Scope.DISCHARGE, True, organisation_id=5)])
    assert _may(facility, [DischargeConsent(Scope.ALL, True, kind=facility)])
