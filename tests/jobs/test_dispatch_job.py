"""The dispatcher as a job and a command: not single-instance, one pass per run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bridge.bootstrap import scheduled_jobs
from bridge.cli import dispatch_command
from bridge.config import settings_of
from bridge.domain.notifications import enqueue_notification
from bridge.domain.notifications.channels import generate_webhook_secret
from bridge.domain.notifications.models import (
    Channel,
    DeliveryEndpoint,
    Notification,
    NotificationStatus,
)
from bridge.domain.registry.models import Organisation, OrganisationKind
from bridge.extensions import db
from bridge.jobs.dispatch import dispatch_notifications
from bridge.jobs.runner import _lock_key, run_job
from bridge.jobs.scheduler import build_scheduler
from tests.support.receivers import HttpReceiver


def test_dispatch_job_is_scheduled_without_the_single_instance_lock(app):
    scheduler = build_scheduler(app, scheduled_jobs(settings_of(app)))

    job = scheduler.get_job("dispatch_notifications")

    assert job is not None
    assert job.kwargs == {"lock": False}


def test_an_unlocked_job_runs_while_another_process_holds_its_lock(app):
    with app.app_context():
        engine = db.engine
    with Session(bind=engine) as other:
        other.scalar(select(func.pg_advisory_xact_lock(_lock_key("overlapping"))))

        locked = run_job(app, "overlapping", lambda s, now: {"ran": 1})
        unlocked = run_job(app, "overlapping", lambda s, now: {"ran": 1}, lock=False)
        other.rollback()

    assert locked.ran is False
    assert unlocked.ran is True and unlocked.summary == {"ran": 1}


@contextmanager
def committed_notifications(app, name: str, count: int) -> Iterator[tuple[HttpReceiver, int]]:
    """A GP practice with a webhook to a receiver and ``count`` notifications due to it,
    committed (the dispatcher works in sessions of its own); removed afterwards."""
    receiver = HttpReceiver().start()
    with app.app_context():
        engine = db.engine
    with Session(bind=engine) as setup:
        org = Organisation(kind=OrganisationKind.GP_PRACTICE, name=name)
        setup.add(org)
        setup.flush()
        setup.add(
            DeliveryEndpoint(
                organisation_id=org.id,
                channel=Channel.WEBHOOK,
                url=receiver.url(),
                secret=generate_webhook_secret(),
            )
        )
        setup.flush()
        for n in range(count):
            enqueue_notification(
                setup,
                recipient_organisation_id=org.id,
                kind="minutes_final",
                patient_id=None,
                payload={"ref": {"type": "minutes_version", "id": n}, "link": "/x"},
                source_type=None,
                source_id=None,
                idempotency_key=f"{name}-{n}",
            )
        setup.commit()
        org_id = org.id
    try:
        yield receiver, org_id
    finally:
        receiver.stop()
        with Session(bind=engine) as cleanup:
            cleanup.execute(
                delete(Notification).where(Notification.recipient_organisation_id == org_id)
            )
            cleanup.execute(
                delete(DeliveryEndpoint).where(DeliveryEndpoint.organisation_id == org_id)
            )
            cleanup.execute(delete(Organisation).where(Organisation.id == org_id))
            cleanup.commit()


def test_bridge_dispatch_delivers_committed_notifications_and_prints_a_summary(app):
    with committed_notifications(app, "CLI test practice", 1) as (receiver, org_id):
        result = app.test_cli_runner().invoke(dispatch_command, ["--batch-size", "10"])
        with app.app_context(), Session(bind=db.engine) as check:
            statuses = set(
                check.scalars(
                    select(Notification.status).where(
                        Notification.recipient_organisation_id == org_id
                    )
                )
            )

    assert result.exit_code == 0, result.output
    assert "claimed=1 delivered=1" in result.output
    assert len(receiver.received) == 1
    assert statuses == {NotificationStatus.DELIVERED}


def test_one_run_of_the_dispatch_job_drains_a_burst_batch_after_batch(app):
    """A burst bigger than a batch goes out in one run, not one batch per interval."""
    settings = settings_of(app).with_values({"NOTIFY_BATCH_SIZE": 2})
    with committed_notifications(app, "Burst test practice", 5) as (receiver, _):
        outcome = run_job(
            app,
            "dispatch_notifications",
            partial(dispatch_notifications, settings=settings),
            lock=False,
        )

    assert outcome.ran
    assert outcome.summary["claimed"] == outcome.summary["delivered"] == 5
    assert len(receiver.received) == 5
