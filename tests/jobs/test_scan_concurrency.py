"""Two scans started at once against one database create each flag once. These tests commit
for real on several connections, so they build and remove their own data."""

import threading
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from bridge.domain.gaps.engine import run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.jobruns import JobRun
from bridge.extensions import db
from bridge.jobs.runner import run_job
from tests.support.scan_world import make_world, remove_world

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_two_scans_at_once_create_each_flag_once(app):
    with app.app_context():
        ids, nurse_id = make_world(db.session, 40)
        db.session.remove()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def scan():
        try:
            barrier.wait()
            outcomes.append(run_job(app, "gap_scan", run_gap_scan, NOW))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors
        with app.app_context():
            count = db.session.scalar(
                select(func.count())
                .select_from(Flag)
                .where(Flag.rule == "patient_without_gp", Flag.patient_id.in_(ids))
            )
            assert count == len(ids)
            statuses = sorted(
                db.session.scalars(select(JobRun.status).order_by(JobRun.id.desc()).limit(2)).all()
            )
            # Either the second waited for nothing (lock taken: skipped) or ran after the
            # first had finished (ok, finding every flag already open).
            assert statuses in (["ok", "skipped"], ["ok", "ok"])
    finally:
        remove_world(app, ids, nurse_id)


def test_a_scan_finding_the_lock_taken_does_nothing(app):
    from sqlalchemy import text

    from bridge.jobs.runner import _lock_key

    with app.app_context():
        holder = db.engine.connect()
        tx = holder.begin()
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("gap_scan")})
        try:
            outcome = run_job(app, "gap_scan", run_gap_scan, NOW)
            assert outcome.ran is False
        finally:
            tx.rollback()
            holder.close()
        with app.app_context():
            db.session.execute(delete(JobRun))
            db.session.commit()
