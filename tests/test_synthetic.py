"""The synthetic data set is deterministic, well formed, and has a few percent of gaps."""

from datetime import UTC, datetime

from sqlalchemy import func, select, text

from bridge.domain.care.models import Admission, FollowUpStatus, FollowUpTask, StatutoryPlan
from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.meetings.models import (
    Distribution,
    DistributionStatus,
    MinutesVersion,
    RecipientRole,
)
from bridge.domain.notifications.models import Notification, NotificationStatus
from bridge.domain.patients.models import Patient
from bridge.sampledata.synthetic import seed_synthetic

NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
KINDS = [
    "patients",
    "enrollments",
    "diagnoses",
    "screenings",
    "consents",
    "admissions",
    "statutory_plans",
    "follow_up_tasks",
    "network_meetings",
    "meeting_participants",
    "minutes_versions",
    "action_items",
    "distributions",
    "delivery_endpoints",
    "notifications",
]


def test_synthetic_data_has_every_kind_of_row_and_realistic_gaps(session, make_patient):
    counts = seed_synthetic(session, patients=400, seed=3, now=NOW)
    session.commit()
    assert counts["patients"] == 400 and counts["enrollments"] == 400
    assert all(counts[k] > 0 for k in KINDS), counts
    summary = run_gap_scan(session, NOW)
    assert summary["caseload_over_capacity"]["opened"] == 0
    assert 0 < summary["patient_without_gp"]["opened"] < 20

    tasks = dict(
        session.execute(
            select(FollowUpTask.status, func.count()).group_by(FollowUpTask.status)
        ).all()
    )
    overdue = session.scalar(
        select(func.count()).where(
            FollowUpTask.status == FollowUpStatus.OPEN, FollowUpTask.due_at < NOW
        )
    )
    assert tasks[FollowUpStatus.DONE] > 0.8 * counts["follow_up_tasks"]
    assert 0 < overdue < 0.1 * counts["follow_up_tasks"]

    gp = select(func.count()).where(Distribution.recipient_role == RecipientRole.GP)
    unacked = session.scalar(gp.where(Distribution.status != DistributionStatus.ACKNOWLEDGED))
    assert 0 < unacked < 0.15 * session.scalar(gp)
    assert session.scalar(
        select(func.count()).where(Distribution.status == DistributionStatus.BLOCKED)
    )
    assert session.scalar(select(func.count()).where(MinutesVersion.version_no > 1))
    assert session.scalar(select(func.count()).where(StatutoryPlan.next_review_date < NOW.date()))
    assert session.scalar(select(func.count()).where(Admission.discharged_at.is_(None)))
    notifications = dict(
        session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ).all()
    )
    assert notifications.get(NotificationStatus.PENDING, 0) == 0
    assert notifications[NotificationStatus.ACKNOWLEDGED] > 0.8 * counts["notifications"]
    assert notifications.get(NotificationStatus.FAILED, 0) + notifications.get(
        NotificationStatus.DEAD, 0
    )


def test_final_minutes_sit_in_the_change_feed_in_finalising_order(session):
    seed_synthetic(session, patients=200, seed=5, now=NOW)
    session.commit()
    rows = session.execute(
        select(
            MinutesVersion.finalised_at, MinutesVersion.change_seq, MinutesVersion.change_xid
        ).order_by(MinutesVersion.change_seq)
    ).all()
    assert rows and all(r.change_seq is not None and r.change_xid is not None for r in rows)
    assert [r.finalised_at for r in rows] == sorted(r.finalised_at for r in rows)
    # the next minutes finalised through the services get a later position
    assert session.scalar(text("SELECT nextval('minutes_change_seq')")) > rows[-1].change_seq


def test_same_seed_gives_the_same_data_set(session):
    def patients():
        return session.execute(
            select(Patient.cpr, Patient.name, Patient.birth_date, Patient.status).order_by(
                Patient.cpr
            )
        ).all()

    first = seed_synthetic(session, patients=150, seed=9, now=NOW)
    first_patients = patients()
    session.rollback()
    assert patients() == []
    second = seed_synthetic(session, patients=150, seed=9, now=NOW)
    assert first == second
    assert patients() == first_patients and len(first_patients) == 150


def test_sequences_are_usable_after_the_bulk_ids(session, make_patient):
    seed_synthetic(session, patients=100, seed=4, now=NOW)
    session.commit()
    newest = session.scalar(select(func.max(Patient.id)))
    assert make_patient().id > newest
    admission = Admission(
        patient_id=newest,
        department_id=session.scalar(select(Admission.department_id).limit(1)),
        specialty="psychiatry",
        acute=True,
        admitted_at=NOW,
    )
    session.add(admission)
    session.flush()
    assert admission.id > session.scalar(
        select(func.max(Admission.id)).where(Admission.id != admission.id)
    )


def test_every_task_carries_its_patients_home_for_the_worklists(session):
    """The copies the municipality's and GP's worklists are indexed by are kept by triggers,
    which the bulk load turns off: the load fills them itself."""
    seed_synthetic(session, patients=200, seed=5, now=NOW)
    session.flush()
    mismatched = session.scalar(
        select(func.count())
        .select_from(FollowUpTask)
        .join(Patient, Patient.id == FollowUpTask.patient_id)
        .where(
            FollowUpTask.patient_municipality_id.is_distinct_from(Patient.municipality_id)
            | FollowUpTask.patient_gp_practice_id.is_distinct_from(Patient.gp_practice_id)
        )
    )
    assert session.scalar(select(func.count()).select_from(FollowUpTask)) > 0
    assert mismatched == 0
