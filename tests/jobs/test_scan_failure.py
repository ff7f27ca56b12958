"""A scan whose database connection drops midway leaves nothing half-written, records the
failure, and the next run finishes the work."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from bridge.domain.gaps import engine
from bridge.domain.gaps.engine import GapRule, run_gap_scan
from bridge.domain.gaps.models import Flag
from bridge.domain.jobruns import JobRun
from bridge.extensions import db
from bridge.jobs.runner import execute_job, run_job
from tests.support.scan_world import make_world, remove_world

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _killer(ctx):
    # A "detection" that terminates its own connection, as a database restart would.
    return select(func.pg_terminate_backend(func.pg_backend_pid()))


def test_connection_lost_mid_scan_rolls_back_and_next_run_completes(app, monkeypatch):
    with app.app_context():
        ids, nurse_id = make_world(db.session, 5)
        db.session.remove()
    try:
        monkeypatch.setitem(
            engine.RULES,
            "zz_connection_lost",
            GapRule("zz_connection_lost", 1, _killer, "terminates its own backend"),
        )
        with pytest.raises(Exception):  # noqa: B017  (whatever the driver raises)
            run_job(app, "gap_scan", run_gap_scan, NOW)
        with app.app_context():
            flags = db.session.scalar(
                select(func.count()).select_from(Flag).where(Flag.patient_id.in_(ids))
            )
            assert flags == 0  # the rules before the failure were rolled back with it
            last = db.session.scalar(select(JobRun).order_by(JobRun.id.desc()).limit(1))
            assert last.status == "failed"
            db.session.remove()
        monkeypatch.delitem(engine.RULES, "zz_connection_lost")
        outcome = run_job(app, "gap_scan", run_gap_scan, NOW)
        assert outcome.summary["patient_without_gp"]["opened"] >= len(ids)
    finally:
        remove_world(app, ids, nurse_id)


def test_a_locked_job_plans_each_statement_for_its_values(session):
    """Prepared statements (psycopg 3) may get generic plans; a scan over the whole data set
    must not, and the dispatcher's claims (an unlocked job) keep them."""

    def mode(s, now):
        return {"mode": s.scalar(text("SHOW plan_cache_mode"))}

    locked = execute_job(session, "plan_check", mode, datetime.now(UTC))
    assert locked.summary == {"mode": "force_custom_plan"}
    session.rollback()
    unlocked = execute_job(session, "plan_check", mode, datetime.now(UTC), lock=False)
    assert unlocked.summary == {"mode": "auto"}
