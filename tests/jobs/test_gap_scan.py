"""Gap rules: each raises on a real gap, stays quiet just inside its threshold, and resolves its
flag by itself when the gap closes. Scans are idempotent and set-based."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from bridge.domain.base import utcnow
from bridge.domain.calendar import COPENHAGEN
from bridge.domain.care.models import FollowUpStatus, FollowUpTask
from bridge.domain.gaps.engine import RULES, GapConfig, ScanContext, run_gap_scan
from bridge.domain.gaps.models import FLAG_FILLFACTOR, Flag, SomaticScreening
from bridge.domain.notifications import enqueue_notification
from bridge.domain.notifications.models import NotificationStatus
from bridge.domain.patients.models import Diagnosis, Enrollment
from bridge.domain.registry.models import BridgeNurse, OrganisationKind, Specialty
from tests.support.care import admit, discharge
from tests.support.meetings import draft_minutes, final_minutes, held_meeting, iso

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
    flagged = {f.patient_id for f in flags(session, "patient_without_gp")}
    assert listed.id not in flagged and unenrolled.id not in flagged
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


def _gaps_for_every_rule(session, nurse, make_actor, make_patient, make_org, municipality) -> None:
    """One patient's worth of data that raises every rule, built through the API."""
    now = utcnow().replace(microsecond=0)
    psych = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.PSYCHIATRY)
    somatic = make_org(OrganisationKind.HOSPITAL_DEPARTMENT, specialty=Specialty.SOMATIC)
    patient = make_patient(nurse=nurse)
    session.add(Diagnosis(patient_id=patient.id, code="F20.0", psychiatric=True))
    session.commit()
    today = now.astimezone(COPENHAGEN).date()
    # Minutes the GP has not acknowledged, blocked for the municipality, with an action item.
    final_minutes(nurse, patient.id, action_items=[{"description": "x", "due_date": str(today)}])
    draft_minutes(nurse, held_meeting(nurse, patient.id)["id"])
    r = nurse.post(
        "/api/v1/meetings",
        json={"patient_id": patient.id, "requested_by": {"kind": "patient"}},
    )
    assert r.status_code == 201, r.json
    # A discharge with an overdue plan, a readmission, a dual admission and a KIP due today.
    first = admit(nurse, patient, psych, at=iso(now - timedelta(days=50))).json
    discharge(nurse, first["id"], at=iso(now - timedelta(days=40)))
    again = admit(nurse, patient, psych, at=iso(now - timedelta(days=10))).json
    assert admit(nurse, patient, somatic, at=iso(now - timedelta(days=5))).status_code == 201
    kip = nurse.post(
        f"/api/v1/admissions/{again['id']}/statutory-plans",
        json={
            "kind": "kip",
            "patient_took_part": True,
            "next_review_date": str(today),
            "efforts": [{"description": "x", "responsible_organisation_id": municipality().id}],
        },
    )
    assert kip.status_code == 201, kip.json
    # Without a GP and without meetings; discharged with every task cancelled.
    alone = make_patient(nurse=nurse, gp_practice_id=None)
    stay = admit(nurse, alone, psych, at=iso(now - timedelta(days=30))).json
    discharge(nurse, stay["id"], at=iso(now - timedelta(days=20)))
    for task in session.scalars(
        select(FollowUpTask).where(FollowUpTask.admission_id == stay["id"])
    ):
        task.status, task.cancel_reason = FollowUpStatus.CANCELLED, "test"
    # A notification that was refused for good.
    (note,) = enqueue_notification(
        session,
        recipient_organisation_id=municipality().id,
        kind="minutes_final",
        patient_id=patient.id,
        payload={},
        source_type=None,
        source_id=None,
        idempotency_key=f"scan-count-{patient.id}",
    )
    note.status = NotificationStatus.FAILED
    # A patient still listed with a GP practice that has closed.
    make_patient(nurse=nurse, gp=make_org("gp_practice", valid_to=date(2026, 1, 31)))
    # A nurse who has left, with one patient still in her course.
    gone = make_actor("nurse")
    make_patient(nurse=gone)
    gone.staff.active = False
    session.commit()


def test_scan_statement_count_does_not_grow_with_data(
    session, make_actor, make_patient, make_org, municipality, count_queries
):
    nurse = make_actor("nurse")
    session.get(BridgeNurse, nurse.id).caseload_capacity = 1
    session.commit()
    build = (session, nurse, make_actor, make_patient, make_org, municipality)
    _gaps_for_every_rule(*build)
    later = utcnow() + timedelta(days=8)  # past every working-day threshold
    with count_queries() as small:
        run_gap_scan(session, later)
    session.commit()
    assert {f.rule for f in session.scalars(select(Flag))} == set(RULES)
    for _ in range(9):
        _gaps_for_every_rule(*build)
    with count_queries() as large:
        summary = run_gap_scan(session, later + timedelta(minutes=5))
    # One statement per rule (its detection run once), and one read of the regions' own rules.
    assert small.count == large.count == len(RULES) + 1
    assert all(
        counts["opened"] >= 9
        for rule, counts in summary.items()
        if rule != "caseload_over_capacity"
    )


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


def test_flag_pages_keep_room_for_the_scans_updates(session):
    """Each scan rewrites every live flag; with room on the page the new version stays there."""
    options = session.execute(
        text("SELECT reloptions FROM pg_class WHERE relname = 'flag'")
    ).scalar_one()
    assert f"fillfactor={FLAG_FILLFACTOR}" in (options or [])
