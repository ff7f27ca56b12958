"""Gap rules: each raises on a real gap, stays quiet just inside its threshold, and resolves its
flag by itself when the gap closes. Scans are idempotent and set-based."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bridge.domain.gaps.engine import GapConfig, ScanContext, run_gap_scan
from bridge.domain.gaps.models import Flag, SomaticScreening
from bridge.domain.patients.models import Diagnosis, Enrollment
from bridge.domain.registry.models import BridgeNurse

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def flags(session, rule, **where):
    stmt = select(Flag).where(Flag.rule == rule, *(getattr(Flag, k) == v for k, v in where.items()))
    return session.scalars(stmt.order_by(Flag.id)).all()


def scan(session, rule, now=NOW):
    summary = run_gap_scan(session, now, rules=[rule])
    session.commit()
    return summary[rule]


def test_patient_without_gp_raised_then_resolved_when_a_gp_is_listed(
    session, make_actor, make_patient, make_org
):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    listed = make_patient(nurse=nurse)  # has a GP: no flag
    unenrolled = make_patient(gp_practice_id=None)  # not enrolled: not Bridge's gap
    assert scan(session, "patient_without_gp") == {"opened": 1, "still_open": 0, "resolved": 0}
    assert [f.patient_id for f in flags(session, "patient_without_gp", status="open")] == [
        patient.id
    ]
    assert listed.id != unenrolled.id
    # re-detected: updated, not duplicated
    later = NOW + timedelta(minutes=5)
    assert scan(session, "patient_without_gp", later) == {
        "opened": 0,
        "still_open": 1,
        "resolved": 0,
    }
    (flag,) = flags(session, "patient_without_gp")
    assert flag.last_seen_at == later and flag.first_detected_at == NOW
    patient.gp_practice_id = listed.gp_practice_id
    session.commit()
    assert scan(session, "patient_without_gp", later)["resolved"] == 1
    (flag,) = flags(session, "patient_without_gp")
    assert flag.status == "resolved" and "automatically" in flag.resolution


def test_no_nurse_assigned_when_nurse_leaves(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse)
    assert scan(session, "no_nurse_assigned")["opened"] == 0
    nurse.staff.active = False
    session.commit()
    assert scan(session, "no_nurse_assigned")["opened"] == 1
    assert flags(session, "no_nurse_assigned")[0].patient_id == patient.id
    nurse.staff.active = True
    session.commit()
    assert scan(session, "no_nurse_assigned")["resolved"] == 1


def test_caseload_over_capacity_only_above_capacity(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    session.get(BridgeNurse, nurse.id).caseload_capacity = 2
    session.commit()
    make_patient(nurse=nurse)
    make_patient(nurse=nurse)
    assert scan(session, "caseload_over_capacity")["opened"] == 0  # exactly at capacity
    third = make_patient(nurse=nurse)
    assert scan(session, "caseload_over_capacity")["opened"] == 1
    (flag,) = flags(session, "caseload_over_capacity")
    assert (flag.nurse_id, flag.patient_id) == (nurse.id, None)
    enrollment = session.scalar(select(Enrollment).where(Enrollment.patient_id == third.id))
    enrollment.end_date, enrollment.end_reason = date(2026, 11, 1), "afsluttet"
    session.commit()
    assert scan(session, "caseload_over_capacity")["resolved"] == 1


def test_somatic_screening_overdue_for_psychosis_after_12_months(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    psychosis = make_patient(nurse=nurse)
    depression = make_patient(nurse=nurse)
    session.add_all(
        [
            Diagnosis(patient_id=psychosis.id, code="F20.0", psychiatric=True),
            Diagnosis(patient_id=depression.id, code="F32.2", psychiatric=True),
            # just inside 12 months
            SomaticScreening(patient_id=psychosis.id, screened_on=date(2025, 12, 1)),
        ]
    )
    session.commit()
    assert scan(session, "somatic_screening_overdue")["opened"] == 0
    assert scan(session, "somatic_screening_overdue", NOW + timedelta(days=30))["opened"] == 1
    (flag,) = flags(session, "somatic_screening_overdue")
    assert flag.patient_id == psychosis.id
    session.add(SomaticScreening(patient_id=psychosis.id, screened_on=date(2026, 12, 20)))
    session.commit()
    assert scan(session, "somatic_screening_overdue", NOW + timedelta(days=30))["resolved"] == 1


def test_snoozed_flag_wakes_when_its_time_is_up(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    make_patient(nurse=nurse, gp_practice_id=None)
    scan(session, "patient_without_gp")
    (flag,) = flags(session, "patient_without_gp")
    flag.status, flag.snoozed_until = "snoozed", NOW + timedelta(hours=1)
    session.commit()
    scan(session, "patient_without_gp", NOW + timedelta(minutes=30))
    assert flags(session, "patient_without_gp")[0].status == "snoozed"
    scan(session, "patient_without_gp", NOW + timedelta(hours=2))
    assert flags(session, "patient_without_gp")[0].status == "open"


def test_resolved_flag_reopens_as_a_new_flag(session, make_actor, make_patient):
    nurse = make_actor("nurse")
    patient = make_patient(nurse=nurse, gp_practice_id=None)
    scan(session, "patient_without_gp")
    flags(session, "patient_without_gp")[0].status = "resolved"
    session.commit()
    scan(session, "patient_without_gp")
    assert [f.status for f in flags(session, "patient_without_gp", patient_id=patient.id)] == [
        "resolved",
        "open",
    ]


def test_scan_statement_count_does_not_grow_with_data(
    session, make_actor, make_patient, count_queries
):
    nurse = make_actor("nurse")
    for _ in range(2):
        make_patient(nurse=nurse, gp_practice_id=None)
    with count_queries() as small:
        run_gap_scan(session, NOW)
    for _ in range(20):
        p = make_patient(nurse=nurse, gp_practice_id=None)
        session.add(Diagnosis(patient_id=p.id, code="F20.0", psychiatric=True))
    session.commit()
    with count_queries() as large:
        run_gap_scan(session, NOW + timedelta(minutes=5))
    assert small.count == large.count
    assert session.scalar(select(func.count()).select_from(Flag)) >= 22


@pytest.mark.parametrize(
    ("now", "cutoff"),
    [
        # Monday 09:00 in Copenhagen: Wednesday's events were due at the end of Friday;
        # Thursday's are due at the end of Monday, not yet.
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), datetime(2026, 11, 18, 23, 0, tzinfo=UTC)),
        # Tuesday 00:30 Copenhagen: Thursday's deadline (end of Monday) has just passed.
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), datetime(2026, 11, 19, 23, 0, tzinfo=UTC)),
    ],
)
def test_working_day_cutoff(now, cutoff):
    assert ScanContext(now=now, config=GapConfig()).working_day_cutoff(2) == cutoff
