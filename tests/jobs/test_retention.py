from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bridge.domain.audit import AuditEvent
from bridge.domain.retention import RetentionPolicy, purge_expired

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_purge_deletes_only_expired_rows_in_batches(session):
    old = [
        AuditEvent(
            occurred_at=NOW - timedelta(days=400 + i),
            action="read",
            resource_type="patient",
            outcome="ok",
            patient_id=1,
        )
        for i in range(7)
    ]
    fresh = AuditEvent(
        occurred_at=NOW - timedelta(days=10),
        action="read",
        resource_type="patient",
        outcome="ok",
        patient_id=1,
    )
    session.add_all([*old, fresh])
    session.commit()
    summary = purge_expired(session, NOW, RetentionPolicy(audit_days=365, batch_size=3))
    assert summary["audit_event"] == 7
    left = session.scalars(select(AuditEvent.id).where(AuditEvent.patient_id == 1)).all()
    assert left == [fresh.id]


def test_purge_stops_after_max_batches(session):
    session.add_all(
        [
            AuditEvent(
                occurred_at=NOW - timedelta(days=900),
                action="read",
                resource_type="patient",
                outcome="ok",
                patient_id=2,
            )
            for _ in range(10)
        ]
    )
    session.commit()
    purge_expired(session, NOW, RetentionPolicy(audit_days=365, batch_size=2, max_batches=3))
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.patient_id == 2)
        )
        == 4
    )


def test_old_notifications_are_purged_recent_ones_kept(session, make_org, make_patient):
    from bridge.domain.notifications import enqueue_notification
    from bridge.domain.notifications.models import Notification
    from bridge.domain.registry.models import OrganisationKind

    gp = make_org(OrganisationKind.GP_PRACTICE)
    patient = make_patient(gp=gp)
    old, new = (
        enqueue_notification(
            session,
            recipient_organisation_id=gp.id,
            kind="minutes_final",
            patient_id=patient.id,
            payload={"ref": {}},
            source_type=None,
            source_id=None,
            idempotency_key=key,
        )[0]
        for key in ("retention-old", "retention-new")
    )
    old.created_at = NOW - timedelta(days=400)
    new.created_at = NOW - timedelta(days=30)
    session.commit()
    assert purge_expired(session, NOW, RetentionPolicy(notification_days=365))["notification"] == 1
    left = session.scalars(
        select(Notification.idempotency_key).where(Notification.patient_id == patient.id)
    ).all()
    assert all(k.startswith("retention-new") for k in left) and left


def test_retention_job_takes_its_periods_from_the_environment(session):
    from bridge.bootstrap import scheduled_jobs
    from bridge.config import Settings
    from bridge.domain.jobruns import JobRun

    old, recent = (
        JobRun(job="retention-test", started_at=NOW - timedelta(days=days), status="ok")
        for days in (20, 5)
    )
    session.add_all([old, recent])
    session.commit()
    settings = Settings.load({"BRIDGE_JOB_RUN_RETENTION_DAYS": "10"})
    [purge] = [j.job for j in scheduled_jobs(settings) if j.name == "retention_purge"]
    assert purge(session, NOW)["job_run"] >= 1
    left = session.scalars(select(JobRun.id).where(JobRun.job == "retention-test")).all()
    assert left == [recent.id]
